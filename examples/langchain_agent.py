"""An agent (langchain.agents.create_agent) that calls the VS brainstorm tool.

``create_vs_tool(llm)`` gives the agent a tool "brainstorm k diverse options
with probabilities"; the agent calls it, gets the numbered options back
(the distribution itself is the ToolMessage's artifact) and answers.

The brainstorming model is the backend of examples/langchain_common.py (the
embedded SmolLM2 server in the tests). The *planner* that decides to call
the tool is that same model only on OpenAI (OPENAI_API_KEY): a 135M model
cannot drive an agent, so otherwise a small scripted planner stands in and
says so. The tool call, its execution and the answer are real agent steps.

    python examples/langchain_agent.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_common import model_backend
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_vs import create_vs_tool
from vs_common import VerbalizedDistribution

QUESTION = "I'm opening a small coffee shop. Can you brainstorm names for it?"


class ScriptedPlanner(BaseChatModel):
    """Calls the brainstorm tool once, then answers from its result."""

    @property
    def _llm_type(self) -> str:
        return "scripted-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            call = {
                "name": "brainstorm",
                "args": {"prompt": "a name for a small coffee shop", "k": 4},
                "id": "call_1",
            }
            message = AIMessage(content="", tool_calls=[call])
        else:
            options = re.findall(r"^\d+\. (.*) \(p=", results[-1].text, flags=re.M)
            if options:
                answer = f"Here are {len(options)} ideas: " + "; ".join(options)
            else:
                answer = f"The brainstorm gave nothing usable: {results[-1].text[:80]}"
            message = AIMessage(content=answer)
        return ChatResult(generations=[ChatGeneration(message=message)])


def main() -> None:
    with model_backend() as (llm, name):
        print(f"brainstorm model: {name}")
        on_openai = bool(os.environ.get("OPENAI_API_KEY")) and not os.environ.get("VS_BASE_URL")
        planner: BaseChatModel = llm if on_openai else ScriptedPlanner()
        print(f"planner: {'the same model' if on_openai else 'scripted (see the docstring)'}")
        agent = create_agent(planner, tools=[create_vs_tool(llm)])
        state = agent.invoke({"messages": [("human", QUESTION)]})
        for message in state["messages"]:
            if isinstance(message, ToolMessage):
                print(f"tool {message.name} returned:\n{message.text}")
                if isinstance(message.artifact, dict):
                    dist = VerbalizedDistribution.from_dict(message.artifact)
                    print(
                        f"  (artifact: {len(dist.candidates)} candidates, {dist.num_calls} call(s))"
                    )
            elif isinstance(message, AIMessage) and message.tool_calls:
                print(
                    f"agent called: {message.tool_calls[0]['name']}"
                    f"({message.tool_calls[0]['args']})"
                )
        print(f"answer: {state['messages'][-1].text}")


if __name__ == "__main__":
    main()
