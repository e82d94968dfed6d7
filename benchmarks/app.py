"""Benchmark: `planner app`, from a control change to the updated page, in a real browser.

Starts the app of an instance (default instances/openai-2025.yaml) on a free port of
127.0.0.1, opens it in headless chromium (Debian's, driven by Playwright, as the browser
tests do), and makes --changes changes (default 50) of one control after another (the
funding, Stargate's capacity, inference revenue, Microsoft's on-demand price and
Stargate's capacity shift, values cycling through their ranges; a few variants have no
plan). Playwright types the value and presses Enter; the page itself times each change
(performance.now() in the browser):

- page: from the Enter key's event to the page showing the new plan -- the callback's
  answer in the DOM (key figures, per-year table, what binds, charts) and then two
  animation frames, so the Plotly charts have been redrawn and painted; also by the
  variant's status (a variant with no plan shows the diagnosis, the base plan's charts);
- dom: the same up to the callback's answer in the DOM, before the charts are painted;
- driver: Playwright's wall time for the change, typing included (an upper bound: it
  adds the driver's own round trips to the browser);
- server: the callback's own time in the app (checking the values, the variant's
  validation, the parametric re-solve, tables, shadow prices, findings and charts' data);
- solve: HiGHS alone on the same LPs (the parametric program's solve of each variant, in
  this process, after the run), the floor any page update stands on.

Prints p50, p95 and max of each, and the ratio of page to solve at p50. The goal is page
p95 under 300 ms on this 2-core machine.

    .venv/bin/python benchmarks/app.py [INSTANCE] [--changes 50]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import browser_page, missing, running_app  # noqa: E402

#: The controls moved, and the values each cycles through (each list's last value differs
#: from its first, so that every change is a change and the page has something to show).
MOVES = [
    ("finance.funding[scale]", [0.9, 1.1, 1.0, 1.2, 0.95]),
    ("providers.stargate.capacity[scale]", [0.8, 1.2, 1.0, 0.9, 1.1]),
    ("workloads.inference.revenue[scale]", [1.1, 1.2, 1.0, 1.05, 0.9]),
    ("providers.microsoft.contracts.on_demand.price[scale]", [0.9, 1.1, 1.0, 1.2, 0.8]),
    ("providers.stargate.capacity[shift]", [-1, 0, 1, 0, -2]),
]
#: Timing inside the page: the Enter key's event time, the solve line's change in the DOM
#: (the callback's answer applied), and two animation frames later (the charts painted).
#: ``window.__planner_timing`` is a promise of the three for the latest change.
WATCH = """() => {
  const info = document.querySelector('#solve-info');
  let enter = 0, resolve = null;
  document.addEventListener('keydown', e => {
    if (e.key !== 'Enter') return;
    enter = e.timeStamp;
    window.__planner_timing = new Promise(r => { resolve = r; });
  }, true);
  new MutationObserver(() => {
    if (!resolve) return;
    const dom = performance.now(), done = resolve;
    resolve = null;
    requestAnimationFrame(() => requestAnimationFrame(() => done({enter, dom, painted: performance.now()})));
  }).observe(info, {childList: true, characterData: true, subtree: true});
}"""


def changes(n: int):
    out = []
    for i in range(n):
        key, values = MOVES[i % len(MOVES)]
        out.append((key, values[(i // len(MOVES)) % len(values)]))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", type=Path, default=ROOT / "instances" / "openai-2025.yaml")
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    if missing():
        sys.exit(f"cannot run: {missing()}")
    page_ms, dom_ms, driver_ms, server_ms, statuses, done = [], [], [], [], [], []
    with running_app(args.instance) as (url, explorer), browser_page(url) as page:
        info = page.locator("#solve-info")
        values = explorer.base_values()
        page.evaluate(WATCH)
        for key, value in [("finance.funding[scale]", 1.05)] + changes(args.changes):  # the first one warms up
            before = info.text_content()
            box = page.locator(f'input[name="{key}"]')
            started = time.perf_counter()
            box.fill(str(value))
            box.press("Enter")
            page.wait_for_function("([el, old]) => el.textContent !== old", arg=[info.element_handle(), before])
            times = page.evaluate("window.__planner_timing")  # waits for the painted page
            driver_ms.append((time.perf_counter() - started) * 1000)
            page_ms.append(times["painted"] - times["enter"])
            dom_ms.append(times["dom"] - times["enter"])
            line = info.text_content()
            server_ms.append(float(re.search(r"in (\d+) ms", line).group(1)))
            statuses.append(line.split(": ")[1].split(" in ")[0])
            values = {**values, key: value}
            done.append(dict(values))
        page_ms, dom_ms, driver_ms = page_ms[1:], dom_ms[1:], driver_ms[1:]
        server_ms, statuses, done = server_ms[1:], statuses[1:], done[1:]
        program = explorer.program  # the benchmark times HiGHS on the app's own LPs
        solve_ms = []
        for values in done:
            variant, _ = explorer.variant(explorer.checked(values))
            started = time.perf_counter()
            program.solve(variant)
            solve_ms.append((time.perf_counter() - started) * 1000)
    counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    print(f"{explorer.name}: {len(page_ms)} control changes in headless chromium "
          f"({', '.join(f'{n} {s}' for s, n in counts.items())})")
    print(f"{'ms':<18}{'p50':>8}{'p95':>8}{'max':>8}")
    rows = [("page", page_ms), ("dom", dom_ms), ("driver", driver_ms)]
    rows += [(f"page ({s})", [t for t, x in zip(page_ms, statuses) if x == s]) for s in counts]
    rows += [("server", server_ms), ("solve", solve_ms)]
    for name, values in rows:
        print(f"{name:<18}{statistics.median(values):8.1f}{percentile(values, 95):8.1f}{max(values):8.1f}")
    ratio = statistics.median(page_ms) / statistics.median(solve_ms)
    goal = "met" if percentile(page_ms, 95) < 300 else "NOT met"
    print(f"page / solve at p50: {ratio:.1f}x; goal page p95 < 300 ms: {goal}")


if __name__ == "__main__":
    main()
