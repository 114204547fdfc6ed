"""The agent tool: brainstorm k diverse options with probabilities."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_vs._config import as_config_error, resolve_config, take_config_fields
from langchain_vs._sampler import VerbalizedSampler
from vs_common import Structured, VerbalizedDistribution, VSConfig
from vs_common.distinct import DistinctPolicy
from vs_common.sampler import format_options

__all__ = ["BrainstormInput", "VerbalizedSamplingTool", "create_vs_tool", "format_options"]

_MAX_TOOL_K = 20
_DESCRIPTION = (
    "Brainstorm k diverse options for a request (ideas, phrasings, replies, names...),"
    " each with the probability a model would give it. Use it when you want variety"
    " rather than the single most likely answer. Input: the request and k."
)


class BrainstormInput(BaseModel):
    """Arguments of the brainstorm tool.

    Example:
        >>> BrainstormInput(prompt="names for a cat").k
        5
    """

    prompt: str = Field(description="What to brainstorm, e.g. 'a name for a coffee shop'.")
    k: int = Field(
        default=5, ge=1, le=_MAX_TOOL_K, description="How many diverse options to produce."
    )


class VerbalizedSamplingTool(BaseTool):
    """A tool that asks a chat model for k diverse options with probabilities.

    The content returned to the agent is the numbered options with their
    probabilities (:func:`vs_common.sampler.format_options`, the text the
    LlamaIndex tool returns too); the artifact (``ToolMessage.artifact``) is the
    distribution as a dict. Child runs nest under the tool's run.

    Attributes:
        llm: The chat model that brainstorms.
        config: VS configuration (method, threshold...); ``k`` comes from
            the tool call.
        structured: As for :class:`~langchain_vs.VerbalizedSampler`.
        distinct: Keep asking until the k options are *distinct* (True, or a
            :class:`vs_common.distinct.DistinctPolicy`), as the LlamaIndex tool
            does; the artifact's ``distinct`` says after how many calls.

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> llm = FakeListChatModel(responses=['["Brew", "Bean"]'])
        >>> tool = VerbalizedSamplingTool(llm=llm, structured="text")
        >>> print(tool.invoke({"prompt": "coffee shop names", "k": 2}))
        1. Brew (p=0.50)
        2. Bean (p=0.50)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "brainstorm"
    description: str = _DESCRIPTION
    args_schema: type[BaseModel] = BrainstormInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    llm: BaseChatModel
    config: VSConfig = Field(default_factory=VSConfig)
    structured: Structured = "auto"
    distinct: DistinctPolicy | bool | None = None

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**take_config_fields(kwargs))
        except ValidationError as exc:
            raise as_config_error(exc, type(self).__name__) from None
        self._sampler(self.config.k or 1)  # the core checks the settings now, not mid-agent

    def _sampler(self, k: int) -> VerbalizedSampler:
        cfg = resolve_config(self.config, k=k, n=k)
        return VerbalizedSampler(
            llm=self.llm, config=cfg, structured=self.structured, distinct=self.distinct
        )

    def _run(
        self,
        prompt: str,
        k: int = 5,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        config: RunnableConfig = {"callbacks": run_manager.get_child() if run_manager else None}
        dist = self._sampler(k).invoke(prompt, config)
        return _result(dist)

    async def _arun(
        self,
        prompt: str,
        k: int = 5,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, dict[str, Any]]:
        config: RunnableConfig = {"callbacks": run_manager.get_child() if run_manager else None}
        dist = await self._sampler(k).ainvoke(prompt, config)
        return _result(dist)


def _result(dist: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(dist, VerbalizedDistribution):  # the sampler has no strategy set
        msg = f"expected a distribution, got {type(dist).__name__}"
        raise TypeError(msg)
    return format_options(dist), dist.to_dict()


def create_vs_tool(
    llm: BaseChatModel,
    *,
    name: str = "brainstorm",
    description: str | None = None,
    config: VSConfig | None = None,
    structured: Structured = "auto",
    distinct: DistinctPolicy | bool | None = None,
) -> BaseTool:
    """A tool for agents: "brainstorm k diverse options with probabilities".

    Works with ``langchain.agents.create_agent`` and any tool-calling model.

    Args:
        llm: The chat model that brainstorms (may differ from the agent's).
        name: The tool's name.
        description: What the agent is told about it (a sensible default).
        config: VS configuration other than k (method, threshold, formats).
        structured: ``auto``, ``tool``, ``json_schema`` or ``text``.
        distinct: Keep asking until the k options are distinct (True, or a
            :class:`vs_common.distinct.DistinctPolicy`).

    Returns:
        A :class:`VerbalizedSamplingTool`.

    Example:
        >>> from langchain_core.language_models import FakeListChatModel
        >>> create_vs_tool(FakeListChatModel(responses=["[]"])).name
        'brainstorm'
    """
    return VerbalizedSamplingTool(
        llm=llm,
        name=name,
        description=description or _DESCRIPTION,
        config=config or VSConfig(),
        structured=structured,
        distinct=distinct,
    )
