"""Connections written as URIs (or JSON objects), as the worker's environment and the CLI take them."""

from __future__ import annotations

import pytest
from baton import Connection, ConnectionURIError


def test__uri__every_part_percent_decoded() -> None:
    conn = Connection.parse(
        "dw", "postgres://etl%2Buser:s3cr%40t%3A@db.example:5432/ware%20house?sslmode=require&x="
    )
    assert conn == Connection(
        conn_id="dw",
        conn_type="postgres",
        host="db.example",
        port=5432,
        login="etl+user",
        password="s3cr@t:",
        schema="ware house",
        extra={"sslmode": "require", "x": ""},
    )
    assert "s3cr" not in repr(conn), "the password never shows in a repr (and so in a log)"


def test__uri__json_extra_and_missing_parts() -> None:
    conn = Connection.parse("api", 'http://api.example?__extra__={"timeout": 5, "retries": [1, 2]}')
    assert (conn.host, conn.port, conn.login, conn.password, conn.schema) == (
        "api.example",
        None,
        None,
        None,
        None,
    )
    assert conn.extra == {"timeout": 5, "retries": [1, 2]}


def test__json_object_form() -> None:
    conn = Connection.parse(
        "s3", '{"conn_type": "aws", "login": "AKIA", "password": "x", "extra": {"region": "eu"}}'
    )
    assert (conn.conn_type, conn.login, conn.extra) == ("aws", "AKIA", {"region": "eu"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a uri", "not a URI"),
        ("postgres://h:99999/x", "bad port"),
        ("http://h?__extra__=[1]", "__extra__ must be a JSON object"),
        ('{"host": "h"}', "needs a string 'conn_type'"),
        ('{"conn_type": "x", "colour": "red"}', "unknown field"),
        ("{broken", "not valid JSON"),
    ],
)
def test__unreadable__connection_uri_error(text: str, message: str) -> None:
    with pytest.raises(ConnectionURIError, match=message):
        Connection.parse("c", text)


@pytest.mark.parametrize(
    "uri",
    [
        "postgres://etl:s3cr%40t@db.example:5432/dw?sslmode=require",
        "http://api.example",
        "sftp://user@files.example:2222",
    ],
)
def test__get_uri__parses_back_to_the_same_connection(uri: str) -> None:
    conn = Connection.parse("c", uri)
    assert Connection.parse("c", conn.get_uri()) == conn


def test__get_uri__non_string_extra_travels_as_json() -> None:
    conn = Connection(conn_id="c", conn_type="http", host="h", extra={"timeout": 5})
    assert Connection.parse("c", conn.get_uri()) == conn
