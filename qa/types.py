"""Plain records that flow through the pipeline: passages in, answers out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """One citable paragraph of a source document.

    ``start``/``end`` are character offsets into the decoded text of the source file
    (or of the jsonl record's ``text``); ``line`` is 1-based. For a paragraph joined
    across a page break the span covers both pieces and the whitespace between them.
    """

    doc: str
    paragraph: int
    start: int
    end: int
    line: int
    text: str
    title: str = ""  # document title, used as context for retrieval, never cited
    section: str = ""  # nearest section heading, used as context, never cited
    page: int | None = None
    # (offset in text, source characters dropped there): where whitespace of a page break was removed
    joins: tuple[tuple[int, int], ...] = ()

    def source_offset(self, i: int, end: bool = False) -> int:
        """Map an offset in ``text`` to an offset in the source text."""
        return self.start + i + sum(d for at, d in self.joins if (at < i if end else at <= i))

    @property
    def citation(self) -> str:
        page = f", page {self.page}" if self.page is not None else ""
        return f"{self.doc} ¶{self.paragraph}{page}, line {self.line}, chars {self.start}-{self.end}"


@dataclass(frozen=True)
class Sentence:
    """The sentence of a passage that best answers the question, with source offsets."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Extract:
    """The answer itself: a span of one passage picked by the reader, with source offsets.

    ``offset`` is where the span starts in the passage's ``text``; ``start``/``end`` are offsets into
    the source file, like a passage's.
    """

    text: str
    doc: str
    paragraph: int
    start: int
    end: int
    score: float
    offset: int = 0
    margin: float = 0.0  # the reader's span score minus its no-answer score; score squashes it to 0..1

    def to_dict(self) -> dict:
        return {"text": self.text, "doc": self.doc, "paragraph": self.paragraph, "start": self.start,
                "end": self.end, "score": round(float(self.score), 6)}


@dataclass(frozen=True)
class Hit:
    """A ranked passage returned for a question."""

    rank: int
    score: float
    passage: Passage
    sentence: Sentence
    answer: Extract | None = None  # the reader's span in this passage, when it finds one

    def to_dict(self) -> dict:
        p = self.passage
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc": p.doc,
            "paragraph": p.paragraph,
            "start": p.start,
            "end": p.end,
            "line": p.line,
            "page": p.page,
            "text": p.text,
            "sentence": self.sentence.text,
            "sentence_start": self.sentence.start,
            "sentence_end": self.sentence.end,
            "answer": self.answer.to_dict() if self.answer is not None else None,
        }


@dataclass
class Answer:
    """Everything said about one question: ranked passages, or an abstention or error."""

    question: str
    id: str = ""
    hits: list[Hit] = field(default_factory=list)
    abstained: bool = False
    error: str | None = None
    answer: Extract | None = None  # the best span over passages; None when abstained or read without a reader
    read: bool = False  # whether the reader read this question's passages
    # What the question asks for (qa/judge/qtype.py TYPES: person, number, date, place, organization, yes_no,
    # reason, other); "" when not typed (retrieval only, --no-reader).
    question_type: str = ""
    verdict: float | None = None  # the verifier's probability that the answer is right, when it judged one

    def to_dict(self, show_all: bool = True) -> dict:
        out: dict = {"id": self.id, "question": self.question}
        out["answer"] = self.answer.to_dict() if self.answer is not None and not self.abstained else None
        out["passages"] = [h.to_dict() for h in self.hits] if (show_all or not self.abstained) else []
        out["abstained"] = self.abstained
        if self.question_type:
            out["question_type"] = self.question_type
        if self.verdict is not None:
            out["verdict"] = round(float(self.verdict), 6)
        if self.error is not None:
            out["error"] = self.error
        return out


def passage_to_dict(p: Passage) -> dict:
    return asdict(p)


def passage_from_dict(d: dict) -> Passage:
    d = dict(d)
    d["joins"] = tuple(tuple(j) for j in d.get("joins", ()))
    return Passage(**d)
