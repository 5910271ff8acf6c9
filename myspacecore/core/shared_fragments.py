"""`{% shared %}`: a part of a page that is the same for every resident, rendered once per process.

The page chrome (header, menu, display settings, footer) is ~60 template nodes of links and
labels that only change with the language and a few display values; rendering them for each
request was a third of a resident page's CPU (bench/README.md, pages.py). Here they are
rendered once per language, URLconf and the values named in the tag, and then reused:

    {% load shared %}
    {% shared text_size=text_size signed_in=user.is_resident %}
      <nav>… {% url 'accounts:mypage' %} … {% translate "マイページ" %} …
        <form method="post">{% unshared %}{% csrf_token %}{% endunshared %}…</form>
      <main>{% unshared %}{% block content %}{% endblock %}{% endunshared %}</main>
    {% endshared %}

What keeps one resident's data out of another's page:

- the shared part is rendered in a context holding **only** the values named in the tag (and
  Django's built-ins), so `{{ user.… }}`, `{{ request.… }}`, `{{ csrf_token }}` there render
  empty; each named value is part of the key, so name only values from a small set (a text
  size, a yes/no: `has_email=profile.email|present`), never personal data (past
  `MAX_VARIANTS` keys a part is rendered each time);
- `{% unshared %}…{% endunshared %}` parts are rendered for each request in the page's own
  context, where they stand; `{% csrf_token %}` and `{% block %}` are refused outside them when
  the template is compiled (a block is the page's own content, a token each request's own);
- the active language, the URLconf and script prefix are always part of the key; a
  `setting_changed` signal (tests) drops every rendered part.

An unshared part sees the page's context, not the variables of the shared part around it, so
it may sit inside `{% if %}` of the shared part, never inside `{% for %}` or `{% with %}`.
"""

from __future__ import annotations

from django import template
from django.core.signals import setting_changed
from django.template.base import Node, NodeList
from django.template.defaulttags import CsrfTokenNode, IfNode
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# One marker per unshared part in the shared part's text: NUL never occurs in our HTML.
_MARK = "\x00"
# Variables whose names start with "_" cannot be read by a template.
_HOLES = "_shared_holes"
# Bumped by every setting change (tests override URLs, languages, static files).
_generation = 0


def _settings_changed(**_kwargs) -> None:
    global _generation
    _generation += 1


setting_changed.connect(_settings_changed, dispatch_uid="shared_fragments")


class UnsharedNode(Node):
    """Rendered in the page's context; inside a shared part a marker for where it goes."""

    def __init__(self, nodelist: NodeList):
        self.nodelist = nodelist

    def render(self, context) -> str:
        holes = context.get(_HOLES)
        if holes is None:  # not inside a shared part: an ordinary part of the page
            return self.nodelist.render(context)
        holes.append(self)
        return SafeString(f"{_MARK}{len(holes) - 1}{_MARK}")


class SharedNode(Node):
    MAX_VARIANTS = 64

    def __init__(self, nodelist: NodeList, values: dict):
        self.nodelist = nodelist
        self.values = values
        # key -> (texts, unshared parts): texts[0], part 0, texts[1], part 1, … texts[-1]
        self.rendered: dict[tuple, tuple[tuple[str, ...], tuple[UnsharedNode, ...]]] = {}
        self._nodes_by_type: dict[type, tuple[Node, ...]] = {}

    def get_nodes_by_type(self, nodetype) -> list[Node]:
        """Node's walk, made once per node type: a compiled template never changes, and each page
        that extends the base looks up the base's blocks this way at every render (Django's
        ExtendsNode), walking the whole chrome inside this part each time."""
        try:
            found = self._nodes_by_type[nodetype]
        except KeyError:
            found = self._nodes_by_type[nodetype] = tuple(super().get_nodes_by_type(nodetype))
        return list(found)

    def render(self, context) -> str:
        values = {name: value.resolve(context) for name, value in self.values.items()}
        key = (_generation, get_language(), get_urlconf(), get_script_prefix(), context.autoescape)
        key += tuple(values.items())
        try:
            texts, holes = self.rendered[key]
        except KeyError:
            texts, holes = self._render_shared(context, values)
            if len(self.rendered) < self.MAX_VARIANTS:
                self.rendered[key] = (texts, holes)
        parts = [texts[0]]
        for hole, text in zip(holes, texts[1:], strict=True):
            parts.append(hole.nodelist.render(context))
            parts.append(text)
        return SafeString("".join(parts))

    def _render_shared(self, context, values: dict) -> tuple[tuple[str, ...], tuple[UnsharedNode, ...]]:
        holes: list[UnsharedNode] = []
        pieces = self.nodelist.render(context.new({**values, _HOLES: holes})).split(_MARK)
        texts = tuple(pieces[0::2])
        return texts, tuple(holes[int(index)] for index in pieces[1::2])


def _refuse_per_request_nodes(nodelist: NodeList, *, inside_if: bool = True) -> None:
    """A token or a block in the shared text would be one request's, or one page's, for all."""
    for node in nodelist:
        if isinstance(node, UnsharedNode):
            if not inside_if:
                raise template.TemplateSyntaxError(
                    "{% unshared %} inside {% for %} or {% with %} of a shared part: it would not see their variables"
                )
            continue
        if isinstance(node, CsrfTokenNode | BlockNode):
            name = node.token.contents if node.token is not None else type(node).__name__
            raise template.TemplateSyntaxError(
                f"{name!r} inside {{% shared %}}: put it in {{% unshared %}}…{{% endunshared %}}"
            )
        for attr in node.child_nodelists:  # an {% if %}'s are all its branches
            child = getattr(node, attr, None)
            if child:
                _refuse_per_request_nodes(child, inside_if=inside_if and isinstance(node, IfNode))


@register.tag("shared")
def do_shared(parser, token):
    """{% shared name=value … %}…{% endshared %}: see the module's docstring."""
    bits = token.split_contents()[1:]
    values = template.base.token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError("{% shared %} takes only name=value pairs")
    nodelist = parser.parse(("endshared",))
    parser.delete_first_token()
    _refuse_per_request_nodes(nodelist)
    return SharedNode(nodelist, values)


@register.tag("unshared")
def do_unshared(parser, token):
    """{% unshared %}…{% endunshared %}: rendered for each request (see the module's docstring)."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("{% unshared %} takes no arguments")
    nodelist = parser.parse(("endunshared",))
    parser.delete_first_token()
    return UnsharedNode(nodelist)


@register.filter
def present(value) -> bool:
    """Whether a value or list is there: the yes/no to name in {% shared %} instead of the value itself."""
    return bool(value)
