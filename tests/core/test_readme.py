"""README examples work when pasted (issue 12, item 10).

Every curl command of the README names a route and method the OpenAPI document has, with no raw
non-ASCII character in its URL (curl's `-G --data-urlencode` sends Chinese percent-encoded);
staff donations carry their required Idempotency-Key; every `flask` command exists.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

README = Path(__file__).resolve().parents[2] / "README.md"
BASES = ("$B", "http://127.0.0.1:5000")
TAKES_VALUE = {
    "-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
    "--data-urlencode", "-o", "--output", "-u", "--user", "-w", "--write-out",
}  # fmt: skip
SENDS_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-urlencode"}
ENDS_COMMAND = {"|", ">", ">>", ";", "&&", "||"}


def shell_commands(text: str) -> list[str]:
    """The README's bash blocks as whole commands (continuations and quoted newlines joined)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        pending = ""
        for line in block.splitlines():
            pending += line + "\n"
            if line.rstrip().endswith("\\"):
                continue
            joined = pending.replace("\\\n", " ")
            try:
                shlex.split(joined, comments=True)
            except ValueError:
                continue  # a quoted JSON body goes on over the next line
            commands.append(joined)
            pending = ""
        assert not pending.strip(), pending
    return commands


def curl_calls(text: str) -> list[tuple[str, str, list[str]]]:
    """(method, URL, arguments) of every curl in the README."""
    calls = []
    for command in shell_commands(text):
        words = shlex.split(command, comments=True)
        for start, word in enumerate(words):
            if not word.endswith("curl"):
                continue
            arguments = []
            for argument in words[start + 1 :]:
                if argument in ENDS_COMMAND:
                    break
                arguments.append(argument)
            calls.append(_method_and_url(arguments) + (arguments,))
    return calls


def _method_and_url(arguments: list[str]) -> tuple[str, str]:
    method, url, sends, as_query = None, None, False, False
    iterator = iter(arguments)
    for argument in iterator:
        if argument in TAKES_VALUE:
            value = next(iterator)
            if argument in ("-X", "--request"):
                method = value
            sends = sends or argument in SENDS_DATA
        elif argument in ("-G", "--get"):
            as_query = True
        elif not argument.startswith("-") and url is None:
            url = argument
    assert url, arguments
    return method or ("GET" if as_query or not sends else "POST"), url


def _path(url: str) -> str:
    for base in BASES:
        if url.startswith(base):
            return url[len(base) :].split("?")[0]
    raise AssertionError(f"{url} is not on the demo server")


def _route_exists(spec: dict, method: str, path: str) -> bool:
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return True
    return False


def test_every_readme_curl_names_a_documented_route_and_method(client):
    spec = client.get("/openapi.json").get_json()
    calls = curl_calls(README.read_text(encoding="utf-8"))
    assert len(calls) > 50
    missing = [(m, url) for m, url, _ in calls if not _route_exists(spec, m, _path(url))]
    assert missing == []


def test_no_readme_curl_puts_raw_chinese_in_a_url():
    calls = curl_calls(README.read_text(encoding="utf-8"))
    assert [url for _, url, _ in calls if not url.isascii()] == []
    encoded = [arguments for _, url, arguments in calls if "--data-urlencode" in arguments]
    assert any("city=杭州市" in arguments for arguments in encoded)


def test_every_readme_staff_donation_carries_an_idempotency_key():
    calls = [
        arguments
        for method, url, arguments in curl_calls(README.read_text(encoding="utf-8"))
        if method == "POST" and _path(url) == "/api/v1/staff/donations"
    ]
    assert len(calls) >= 2
    for arguments in calls:
        assert any(a.lower().startswith("idempotency-key:") for a in arguments), arguments


def test_every_flask_command_in_the_readme_exists(app):
    runner = app.test_cli_runner()
    context = click.Context(app.cli)
    found = 0
    for command in shell_commands(README.read_text(encoding="utf-8")):
        words = shlex.split(command, comments=True)
        if not words or not words[0].endswith("flask") or len(words) < 3:
            continue
        group = app.cli.get_command(context, words[1])
        assert group is not None, words
        assert group.get_command(context, words[2]) is not None, words
        assert runner.invoke(args=[*words[1:3], "--help"]).exit_code == 0, words
        found += 1
    assert found >= 7


def test_the_demo_hints_send_chinese_percent_encoded(app, daytime):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    urls = re.findall(r"(?:https?://\S+|/api/v1/\S*)", result.output)
    assert urls and all(url.isascii() for url in urls), urls
    assert "--data-urlencode 'city=杭州市'" in result.output


def test_the_settings_reference_names_every_variable_the_environment_may_set():
    # Issue 17 item 1: every environment variable, its default and what production requires.
    from app import PACKAGE_SETTINGS
    from core.config import ENV_OVERRIDES

    text = README.read_text(encoding="utf-8")
    table = text.split("### Settings reference", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    variables = {*ENV_OVERRIDES, "APP_ENV", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR"}
    for package in PACKAGE_SETTINGS:
        variables |= set(package.from_environment)
    assert variables - named == set()
