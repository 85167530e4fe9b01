"""`qa mcp`: a Model Context Protocol server on stdio (the official `mcp` SDK's MCPServer).

Two tools over a `Service`: ``ask`` (cited passages and the answer, or an abstention) and
``search`` (the ranked passages, never abstained). Results are structured content whose fields
are those of `qa ask --json`, plus a ready-made citation string for each passage.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from qa import __version__
from qa.errors import QAError
from qa.records.render import citation
from qa.serving.service import Service


class Span(BaseModel):
    text: str
    doc: str
    paragraph: int
    start: int
    end: int
    score: float


class CitedPassage(BaseModel):
    rank: int
    score: float
    citation: str = Field(description="document ¶paragraph[, page], line, chars START-END")
    doc: str
    paragraph: int
    line: int
    page: int | None
    start: int = Field(description="character offset of the passage in the decoded source text")
    end: int
    text: str
    sentence: str = Field(description="the sentence of the passage that best answers the question")
    answer: Span | None = None


class AskResult(BaseModel):
    question: str
    abstained: bool = Field(description="true when no passage answers the question with confidence")
    answer: Span | None = Field(description="the answer span, when a reader found one")
    passages: list[CitedPassage] = Field(description="empty when abstained")


class SearchResult(BaseModel):
    question: str
    passages: list[CitedPassage]


def _passages(record: dict) -> list[CitedPassage]:
    return [CitedPassage(citation=citation(p), **{k: p.get(k) for k in CitedPassage.model_fields if k != "citation"})
            for p in record["passages"]]


def build(service: Service):
    """The MCPServer with its two tools over ``service``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("qa", version=__version__, instructions=(
        "Answers questions from the user's own indexed documents with cited source passages. "
        "Quote passages with their citation; when `abstained` is true, the documents do not answer."))

    def checked(fn, *args, **kwargs) -> dict:
        try:
            return fn(*args, **kwargs)
        except QAError as e:  # the model reads the message and can rephrase
            raise ToolError(str(e)) from e

    @server.tool(description="Answer a question from the indexed documents: cited passages with the answering "
                             "sentence, or an abstention when nothing in them answers it.")
    def ask(question: Annotated[str, Field(max_length=2000)],
            top_k: Annotated[int, Field(ge=1, le=50)] = 5,
            reader: Annotated[bool, Field(description="pick the answer span out of the passages")] = True
            ) -> AskResult:
        record = checked(service.ask, question, top_k=top_k, reader=reader)
        span = record.get("answer")
        return AskResult(question=record["question"], abstained=record["abstained"],
                         answer=Span(**span) if span else None, passages=_passages(record))

    @server.tool(description="Search the indexed documents: the top ranked passages with citations, "
                             "whether or not they answer the question.")
    def search(query: Annotated[str, Field(max_length=2000)],
               top_k: Annotated[int, Field(ge=1, le=50)] = 10,
               mode: Literal["hybrid", "dense", "bm25"] = "hybrid") -> SearchResult:
        record = checked(service.ask, query, top_k=top_k, mode=mode, show_all=True, abstain=False, reader=False)
        return SearchResult(question=record["question"], passages=_passages(record))

    return server


def run_stdio(service: Service) -> None:
    build(service).run("stdio")
