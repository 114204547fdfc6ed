"""LangChain's standard ToolsIntegrationTests for the agent tool, against the real local model.

``create_vs_tool`` over ``ChatOpenAI`` talking to SmolLM2 behind the real
llama-cpp-python server: invoked with a ``ToolCall`` it returns a valid
``ToolMessage`` (content and artifact), sync and async, and invoked with
plain arguments it does not raise. The unit-level ``ToolsUnitTests`` run in
tests/unit/langchain/test_lc_selector_tool.py.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_vs import VerbalizedSamplingTool, create_vs_tool
from vs_common.backends.local_server import LocalModelServer

pytestmark = pytest.mark.integration


class TestCreateVSToolIntegration(ToolsIntegrationTests):
    @pytest.fixture
    def tool(self, local_server: LocalModelServer) -> BaseTool:
        # The server ignores max_completion_tokens (what max_tokens= sends): use extra_body.
        # A client of its own: langchain-openai shares one cached async client across
        # event loops, and each async test runs in a new loop ("Event loop is closed"
        # with openai 3; upstream: langchain-ai/langchain issue 35783).
        llm = ChatOpenAI(
            base_url=local_server.base_url,
            model=local_server.model,
            api_key=local_server.api_key,
            temperature=0.8,
            extra_body={"max_tokens": 200},
            http_async_client=openai.DefaultAsyncHttpxClient(),
        )
        return create_vs_tool(llm, structured="tool")

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return VerbalizedSamplingTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"prompt": "Names for a coffee shop", "k": 3}
