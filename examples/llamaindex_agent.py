"""A LlamaIndex agent with the Verbalized Sampling tool.

The agent hands creative requests to the VS tool, which asks the model for k
candidates with probabilities and returns one sampled from them plus the list.

With the tiny embedded SmolLM2 model the agent is steered: its first step is
forced to call the tool (``initial_tool_choice``) and the tool's output is the
answer (``return_direct=True``); with a capable model drop both. ``streaming``
is off because llama-cpp-python's server repeats the tool name in every
streamed chunk.

The model: ``$VS_BASE_URL`` / ``$VS_MODEL``, or the embedded SmolLM2 model
started on loopback (see examples/llamaindex_workflow.py).

    python examples/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

from llama_index.core import Settings
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.llms.openai_like import OpenAILike
from llamaindex_common import open_llm

from llamaindex_vs import verbalized_sampling_tool
from vs_common import VSConfig


async def main(llm: OpenAILike) -> None:
    tool = verbalized_sampling_tool(llm=llm, config=VSConfig(k=3), return_direct=True, seed=3)
    agent = FunctionAgent(
        tools=[tool],
        llm=llm,
        system_prompt="You help with creative writing. Use the verbalized_sampling tool.",
        initial_tool_choice=tool.metadata.name,
        streaming=False,
    )
    handler = agent.run("Give me a joke about cats.")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print(f"tool call: {event.tool_name}({event.tool_kwargs})")
    answer = await handler
    print("agent answer:")
    print(answer)


if __name__ == "__main__":
    with ExitStack() as stack:
        Settings.llm = open_llm(stack)
        asyncio.run(main(Settings.llm))
