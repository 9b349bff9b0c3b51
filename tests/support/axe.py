"""Accessibility checks of our pages in Chromium: axe-core and what axe cannot see."""

from __future__ import annotations

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

# Sizes the pages are checked at: a phone and a till's screen.
SIZES = [(390, 844), (1280, 800)]
BLOCKING = {"critical", "serious", "moderate"}


async def axe_violations(page: Page) -> list[str]:
    """axe-core's violations above minor, one line each: rule, impact, where."""
    results = await Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:5]]
        found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found


# For the focused element: its outline against the background it is drawn on (the first
# ancestor with an opaque background), as WCAG's contrast ratio.
FOCUS_RING = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  let behind = element.parentElement;
  let background = [255, 255, 255];
  while (behind) {
    const color = rgb(getComputedStyle(behind).backgroundColor);
    if (color.length === 3 || (color.length === 4 && color[3] === 1)) {
      background = color.slice(0, 3);
      break;
    }
    behind = behind.parentElement;
  }
  const ring = rgb(style.outlineColor).slice(0, 3);
  const [light, dark] = [luminance(ring), luminance(background)].sort((a, b) => b - a);
  const name = element.id || element.getAttribute("aria-label") || element.textContent.trim();
  return {
    name: element.tagName.toLowerCase() + " " + name.slice(0, 40),
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    ratio: (light + 0.05) / (dark + 0.05),
  };
}"""


async def weak_focus_rings(page: Page, stops: int = 40) -> list[str]:
    """Tab through the page: every control it reaches shows a ring of at least 2 px and 3:1."""
    weak = []
    seen = set()
    for _ in range(stops):
        await page.keyboard.press("Tab")
        ring = await page.evaluate(FOCUS_RING)
        if ring["name"] in seen:
            continue
        seen.add(ring["name"])
        if ring["name"].startswith("body"):
            continue
        if ring["style"] == "none" or ring["width"] < 2 or ring["ratio"] < 3:
            weak.append(f"{ring['name']}: {ring['style']} {ring['width']}px {ring['ratio']:.2f}:1")
    return weak


CLIPPED = """() => {
  const found = [];
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1) {
    found.push("the page scrolls sideways");
  }
  for (const element of document.querySelectorAll("button, label, h1, h2, input, select")) {
    if (!element.offsetParent) continue;
    if (element.scrollWidth > element.clientWidth + 1) {
      found.push(element.tagName.toLowerCase() + " " + (element.id || element.textContent.trim()));
    }
  }
  return found;
}"""


async def clipped(page: Page) -> list[str]:
    """Controls and labels whose text does not fit them, and sideways scrolling."""
    return await page.evaluate(CLIPPED)
