"""Reading a Prometheus endpoint in tests."""

from __future__ import annotations

import asyncio
import re

import httpx

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


async def scrape(address: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://{address}/metrics")
    answer.raise_for_status()
    return answer.text


def value(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        found = dict(_LABEL.findall(match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


async def eventually(address: str, name: str, expected: float, **labels: str) -> str:
    """The scraped text once `name{labels}` reads `expected` (activities count as they end)."""
    text = ""
    for _ in range(100):
        text = await scrape(address)
        if value(text, name, **labels) == expected:
            return text
        await asyncio.sleep(0.1)
    found = [line for line in text.splitlines() if line.startswith(name)]
    raise AssertionError(f"{name}{labels} never read {expected}: {found}")
