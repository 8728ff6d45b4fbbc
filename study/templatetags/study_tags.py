from django import template

register = template.Library()


def answer_field(code: str, recommendation_id: int | None) -> str:
    """Form field name of one answer: the item code, plus the recommendation for per-track items."""
    return f"{code}__{recommendation_id}" if recommendation_id else code


@register.simple_tag
def field_name(item, recommendation=None) -> str:
    return answer_field(item.code, recommendation.pk if recommendation else None)


@register.filter
def get(mapping, key):
    return mapping.get(key)
