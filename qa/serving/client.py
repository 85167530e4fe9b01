"""The client side of `qa ask --server` and `qa batch --server`: JSON over HTTP with the standard library.

It imports nothing heavy (no numpy, torch or sentence-transformers), which is the point of asking a
warm server. A server's ``{"error": "..."}`` becomes a QAError with the same message a local ask
gives, and a server that does not answer becomes a QAError naming its URL.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from qa.errors import QAError

TIMEOUT = 300.0  # seconds; a first question may wait for the server to open a new generation
BATCH_CHUNK = 256  # questions a request; the server's /batch limit


class Client:
    """Talks to one `qa serve` at ``url``, with an optional bearer ``token``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = TIMEOUT):
        url = url.strip()
        if "://" not in url:
            url = "http://" + url
        if not url.startswith(("http://", "https://")):
            raise QAError(f"the server URL must start with http:// or https://, not '{url}'")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise QAError(_server_error(e)) from None
        except urllib.error.URLError as e:
            reason = getattr(e.reason, "strerror", None) or str(e.reason)
            raise QAError(f"no qa server answers at {self.url} ({reason})") from None
        except (socket.timeout, TimeoutError):
            raise QAError(f"the qa server at {self.url} did not answer within {self.timeout:.0f}s") from None
        except (ValueError, UnicodeDecodeError):
            raise QAError(f"{self.url} did not answer like a qa server (not JSON)") from None
        except OSError as e:
            raise QAError(f"no qa server answers at {self.url} ({e.strerror or e})") from None

    def health(self) -> dict:
        return self._call("GET", "/health")

    def ask(self, question: str, top_k: int, mode: str, show_all: bool, reader: bool = True) -> dict:
        return self._call("POST", "/ask", {"question": question, "top_k": top_k, "mode": mode,
                                           "show_all": show_all, "reader": reader})

    def batch(self, items: list[tuple[str, str]], top_k: int, mode: str, reader: bool = True) -> list[dict]:
        out: list[dict] = []
        for s in range(0, len(items), BATCH_CHUNK):
            chunk = [{"id": i, "question": q} for i, q in items[s:s + BATCH_CHUNK]]
            out.extend(self._call("POST", "/batch", {"questions": chunk, "top_k": top_k, "mode": mode,
                                                      "reader": reader})["results"])
        return out


def _server_error(e: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(e.read().decode("utf-8")).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError, OSError):
        message = None
    if isinstance(message, str) and message:
        return message
    return f"the qa server answered {e.code} {e.reason}"
