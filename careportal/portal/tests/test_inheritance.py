"""`{% extends %}` as the project's templates get it (portal/templatetags/inheritance.py)."""

from django.template import Context, Engine

from careportal.portal.templatetags.inheritance import ExtendsOnceNode

BUILTINS = ["careportal.portal.templatetags.inheritance"]


def _engine(templates: dict[str, str]) -> Engine:
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", templates)],
        builtins=BUILTINS,
    )


def test_it_fills_each_block_from_the_nearest_template_that_has_it():
    engine = _engine(
        {
            "root.html": "<h1>{% block title %}Root{% endblock %}</h1>"
            "{% block body %}root body{% endblock %}|{% block footer %}© {{ year }}{% endblock %}",
            "middle.html": '{% extends "root.html" %}'
            "{% block title %}{{ block.super }} and middle{% endblock %}",
            "page.html": '{% extends "middle.html" %}'
            "{% block body %}Hello {{ name }}{% endblock %}",
        }
    )
    page = engine.get_template("page.html")

    assert isinstance(page.nodelist[0], ExtendsOnceNode)
    for name, year in (("Margaret", 2026), ("Tom", 2027)):
        assert page.render(Context({"name": name, "year": year})) == (
            f"<h1>Root and middle</h1>Hello {name}|© {year}"
        )


def test_it_reads_the_blocks_of_a_root_template_changed_since():
    templates = {
        "root.html": "[{% block a %}A{% endblock %}]",
        "page.html": '{% extends "root.html" %}{% block a %}page A{% endblock %}',
    }
    first = _engine(templates)
    assert first.get_template("page.html").render(Context()) == "[page A]"

    templates["root.html"] = "[{% block a %}A{% endblock %}|{% block b %}B{% endblock %}]"
    second = _engine(templates)

    assert second.get_template("page.html").render(Context()) == "[page A|B]"
