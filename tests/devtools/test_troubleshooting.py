"""docs/troubleshooting.md is generated from the code's UserError messages and kept fresh."""

import re
import textwrap

from entrypoint.devtools import docs, error_catalog


def test_troubleshooting_page_is_fresh():
    assert error_catalog.TROUBLESHOOTING not in docs.stale_pages(), \
        "docs/troubleshooting.md is stale: run `make docs`"


def test_every_user_error_in_the_code_is_on_the_page():
    page = error_catalog.TROUBLESHOOTING.read_text()
    messages = error_catalog.scan()
    assert len(messages) >= 10
    for message in messages:
        assert f"`{message.text}`" in page


def test_messages_are_rebuilt_from_f_strings_constants_and_concatenation(tmp_path):
    (tmp_path / "sample.py").write_text(textwrap.dedent('''
        HINT = "use 1 to 8"
        def check(tp, path):
            if tp > 8:
                raise UserError(f"TP={tp!r} is too large for {path.name}; " + HINT + ".")
            raise errors.UserError("Plain sentence: " f"{type(tp).__name__} given")
        def removed(row, gpus):
            raise UserError(f"{row['flag']} was removed; use {', '.join(gpus)}.")
    '''))
    first, second, third = error_catalog.scan(tmp_path)
    assert (first.module, first.function) == ("sample.py", "check")
    assert first.text == "TP=<tp> is too large for <name>; use 1 to 8."
    assert first.fix == "Use 1 to 8."
    assert second.text == "Plain sentence: <type> given"
    assert second.fix == ""
    assert (third.function, third.text) == ("removed", "<flag> was removed; use <gpus>.")


def test_a_real_message_matches_its_documented_form(tmp_path):
    """The documented template, with placeholders filled, is what `run` prints."""
    from tests.conftest import run_cli

    result = run_cli("--dry-run", env={"MODEL": str(tmp_path / "absent")})
    printed = result.stderr.strip().removeprefix("run: ")
    (template,) = [m.text for m in error_catalog.scan() if m.function == "read_model_dir"
                   and "does not exist" in m.text]
    assert printed == template.replace("<path>", str(tmp_path / "absent"))


def test_every_message_reads_as_text_not_code():
    """The page showed `<explain>` and raw Python such as `<"is" if n == 1 else "are">`."""
    page = error_catalog.troubleshooting_page()
    messages = [line for line in page.splitlines() if line.startswith("- `")]
    assert messages
    for line in messages:
        assert "<explain>" not in line, line
        for part in re.findall(r"<[^<>`]*>", line):  # a placeholder names a value, plainly
            assert re.fullmatch(r"<\w+( x \w+)?>", part), f"{part} in {line}"
