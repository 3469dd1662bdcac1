"""drf-spectacular hooks."""


def describe_format_parameter(result, generator, request, public):
    """DRF adds a `format` query parameter wherever a view has several renderers; say what it does."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for param in operation.get("parameters", []):
                if param.get("name") == "format" and param.get("in") == "query" and not param.get("description"):
                    choices = param.get("schema", {}).get("enum", [])
                    param["description"] = (
                        "Response format" + (f" ({', '.join(choices)})" if choices else "")
                        + "; the Accept header works as well."
                    )
    return result
