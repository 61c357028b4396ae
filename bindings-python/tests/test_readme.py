"""The README's Python snippets: all compile; the library example runs."""

from __future__ import annotations

import re

import pytest

from .conftest import PACKAGE

README = (PACKAGE / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_snippets_compile() -> None:
    assert len(BLOCKS) >= 3
    for i, code in enumerate(BLOCKS):
        compile(code, f"README.md python block {i + 1}", "exec")


@pytest.mark.usefixtures("aws_env")
def test_library_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = [b for b in BLOCKS if "leastpriv.boto3.instrument(session, rec)" in b]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "arn:aws:s3:::reports/2024/q1.csv" in out
    assert 'data "aws_iam_policy_document" "orders_service"' in out
