"""/docs works on an isolated network: Swagger UI's files come from the app (issue 12, item 9)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit


class _References(HTMLParser):
    """Every script and style sheet a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and named.get("src"):
            self.found.append(named["src"])
        if tag == "link" and named.get("href"):
            self.found.append(named["href"])


def test_the_docs_page_loads_only_files_the_app_serves(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    parser = _References()
    parser.feed(html)
    assert len(parser.found) >= 3  # the style sheet, the bundle and its preset
    for reference in parser.found:
        parts = urlsplit(reference)
        assert not parts.scheme and not parts.netloc, reference
        with client.get(reference) as served:
            assert served.status_code == 200, reference
            assert len(served.data) > 1000, reference
            kind = "text/css" if reference.endswith(".css") else "javascript"
            assert kind in served.mimetype, (reference, served.mimetype)


def test_the_docs_page_asks_no_online_validator(client):
    assert '"validatorUrl": null' in client.get("/docs").get_data(as_text=True)


def test_the_docs_page_reads_the_apps_own_openapi_document(client):
    html = client.get("/docs").get_data(as_text=True)
    assert 'url: "/openapi.json"' in html
    assert client.get("/openapi.json").status_code == 200
