"""Seeders: `flask seed-demo` (``demo``: a small district told as a story, made through the
services) and `flask seed-district` (``district``: a synthetic district at full scale, written in
bulk). What they write in Chinese — names, posts, replies, guide articles — is data, in ``data/``."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

from flask import Flask

DATA = Path(__file__).parent / "data"


@cache
def load(name: str):
    """A data file's content (read once); keys starting with "_" are notes for its readers."""
    with open(DATA / f"{name}.json", encoding="utf-8") as file:
        content = json.load(file)
    if isinstance(content, dict):
        content = {key: value for key, value in content.items() if not key.startswith("_")}
    return content


def init_app(app: Flask) -> None:
    from .demo import seed_demo_command
    from .district import seed_district_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(seed_district_command)
