"""A standard Python OAuth client (Authlib, Debian's python3-authlib) against the issuer.

Configured as Authlib's documentation shows: an issuer URL, a client id and a
secret; every endpoint comes from the RFC 8414 metadata. Reads one JSON object
on stdin (so that no secret or token is in the process list):

    {"issuer", "users_url", "reporting": {"id", "secret"}, "orders": {"id", "secret"},
     "public_client_id", "subject_token", "refresh_token"}

and prints one JSON object on stdout, each step's outcome: statuses, claims the
servers answered, and the tokens the caller checks at the resource services.
Any unexpected failure ends it with a traceback on stderr and a non-zero status.

Run with Debian's /usr/bin/python3 (the package is installed for it). Plain
HTTP on loopback needs AUTHLIB_INSECURE_TRANSPORT=1 (Authlib's documented
switch for development), which the caller sets.
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

TIMEOUT_SECONDS = 10
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def discover(issuer):
    """RFC 8414 §3: the metadata from the issuer identifier alone, checked by Authlib's model."""
    response = requests.get(get_well_known_url(issuer, external=True), timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    metadata = AuthorizationServerMetadata(response.json())
    # Authlib's whole RFC 8414 check: every member present is well formed, the required ones are there
    # (response_types_supported among them, now that the issuer has an authorization endpoint).
    metadata.validate()
    return metadata


def session(client_id, client_secret=None, **kwargs):
    return OAuth2Session(client_id, client_secret, default_timeout=TIMEOUT_SECONDS, **kwargs)


def main():
    given = json.load(sys.stdin)
    users = given["users_url"]
    result = {}

    metadata = discover(given["issuer"])
    if metadata["issuer"] != given["issuer"]:
        raise SystemExit("the metadata names another issuer")  # RFC 8414 §3.3
    result["metadata"] = {name: metadata.get(name) for name in (
        "issuer", "token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri")}
    token_endpoint = metadata["token_endpoint"]

    # RFC 6749 §4.4, client_secret_basic (Authlib's default when a secret is given).
    reporting = session(given["reporting"]["id"], given["reporting"]["secret"],
                        token_endpoint_auth_method="client_secret_basic", scope="users:read")
    service_token = reporting.fetch_token(token_endpoint, grant_type="client_credentials")
    listed = reporting.get(users + "/users")
    result["client_credentials"] = {
        "token_type": service_token["token_type"],
        "scope": service_token.get("scope"),
        "has_refresh_token": "refresh_token" in service_token,
        "access_token": service_token["access_token"],
        "users_status": listed.status_code,
    }

    # RFC 6749 §5.2: a refusal names its error.
    try:
        reporting.fetch_token(token_endpoint, grant_type="client_credentials", scope="users:admin")
        result["refusal"] = None
    except OAuthError as error:
        result["refusal"] = {"error": error.error}

    # RFC 7662 by a confidential client, then RFC 7009 by the token's own client, then RFC 7662 again.
    orders = session(given["orders"]["id"], given["orders"]["secret"],
                     token_endpoint_auth_method="client_secret_basic")
    introspection = metadata["introspection_endpoint"]
    before = orders.introspect_token(introspection, token=service_token["access_token"],
                                     token_type_hint="access_token")
    revoked = reporting.revoke_token(metadata["revocation_endpoint"], token=service_token["access_token"],
                                     token_type_hint="access_token")
    after = orders.introspect_token(introspection, token=service_token["access_token"],
                                    token_type_hint="access_token")
    result["introspection"] = {
        "before": {"status": before.status_code, "body": before.json()},
        "revocation_status": revoked.status_code,
        "after": {"status": after.status_code, "body": after.json()},
    }

    # RFC 8693 with client_secret_post: the user's token traded for one towards users-service.
    exchanging = session(given["orders"]["id"], given["orders"]["secret"],
                         token_endpoint_auth_method="client_secret_post")
    exchanged = exchanging.fetch_token(
        token_endpoint,
        grant_type=TOKEN_EXCHANGE,
        subject_token=given["subject_token"],
        subject_token_type=ACCESS_TOKEN_TYPE,
        audience="users-service",
    )
    whoami = exchanging.get(users + "/whoami")
    result["token_exchange"] = {
        "issued_token_type": exchanged.get("issued_token_type"),
        "scope": exchanged.get("scope"),
        "whoami_status": whoami.status_code,
        "principal": whoami.json().get("principal"),
    }

    # RFC 6749 §6 by the public client (client_id in the body, no secret: Authlib's "none").
    public = session(given["public_client_id"], token_endpoint_auth_method="none")
    refreshed = public.refresh_token(token_endpoint, refresh_token=given["refresh_token"])
    me = public.get(users + "/users/me")
    result["refresh_token"] = {
        "token_type": refreshed["token_type"],
        "rotated": refreshed.get("refresh_token") not in (None, given["refresh_token"]),
        "me_status": me.status_code,
        "me_id": me.json().get("id"),
    }

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
