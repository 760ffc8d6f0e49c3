"""`{% extends %}` that finds the blocks of a page's root template once, not per render.

Django's tag walks every node of the root template (base.html, the back office's
admin/base.html) for its blocks each time a page renders: a quarter of a millisecond per
page, measured by `make bench`. A compiled template never changes, so the answer is kept
on it; a template reloaded after an edit is a new object and is walked again. Everything
else is Django's `{% extends %}`. A builtin (settings.TEMPLATES), so it replaces Django's
tag in every template, the admin's included.
"""

from __future__ import annotations

from typing import Any, cast
from weakref import WeakKeyDictionary

from django import template
from django.template.base import Parser, Template, TextNode, Token
from django.template.context import Context
from django.template.loader_tags import (
    BLOCK_CONTEXT_KEY,
    BlockContext,
    BlockNode,
    ExtendsNode,
    do_extends,
)
from django.utils.safestring import SafeString

register = template.Library()

# Each root template's blocks by name, or None for a template that extends another; kept
# as long as the compiled template is.
_root_blocks_of: WeakKeyDictionary[Template, dict[str, Any] | None] = WeakKeyDictionary()


def _root_blocks(parent: Template) -> dict[str, Any] | None:
    """Return the blocks of `parent` when it extends nothing (None when it does)."""
    if parent in _root_blocks_of:
        return _root_blocks_of[parent]
    blocks = None
    for node in parent.nodelist:
        # As Django decides: the first node that is not text tells whether it extends.
        if not isinstance(node, TextNode):
            if not isinstance(node, ExtendsNode):
                found: list[Any] = parent.nodelist.get_nodes_by_type(BlockNode)
                blocks = {block.name: block for block in found}
            break
    _root_blocks_of[parent] = blocks
    return blocks


class ExtendsOnceNode(ExtendsNode):
    def render(self, context: Context) -> SafeString:
        compiled_parent = self.get_parent(context)
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(self.blocks)
        root = _root_blocks(compiled_parent)
        if root is not None:
            block_context.add_blocks(root)
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            rendered: SafeString = cast(Any, compiled_parent)._render(context)
            return rendered


@register.tag("extends")
def extends_once(parser: Parser, token: Token) -> ExtendsOnceNode:
    node: Any = do_extends(parser, token)
    return ExtendsOnceNode(node.nodelist, node.parent_name, node.template_dirs)
