import { isEncryptionPublicKey } from "../../src/encryption-key";
import { ApiError, isRefusal } from "../../src/errors";
import { isUsername } from "../../src/identifiers";
import * as s from "../../src/schemas";
import { usernameActor } from "../env";
import { throwRefusal } from "../errors";
import { authedRoute, errors, jsonBody, jsonResponse, newRouter } from "../openapi";

export const users = newRouter();

users.openapi(
  authedRoute({
    method: "get",
    path: "/v1/users/{username}",
    operationId: "getUser",
    summary: "A user's public profile: wallet id, Lightning address, encryption public key (the name is case-insensitive)",
    scope: "read",
    request: { params: s.UsernameParam },
    responses: { 200: jsonResponse(s.UserProfile, "the user"), 401: errors[401], 403: errors[403], 404: errors[404] },
  }),
  async (c) => {
    const { username } = c.req.valid("param");
    const profile = isUsername(username) ? await usernameActor(c.env, username).profile() : null;
    if (!profile) throw new ApiError("not_found", "no such user");
    // LUD-16 addresses are lower case; the name's actor answers to any spelling.
    const lightning_address = `${profile.username.toLowerCase()}@${new URL(c.req.url).host}`;
    return c.json({ username: profile.username, wallet_id: profile.wallet_id, lightning_address, encryption_public_key: profile.encryption_public_key }, 200);
  },
);

users.openapi(
  authedRoute({
    method: "put",
    path: "/v1/account/encryption-key",
    operationId: "setEncryptionKey",
    summary: "Set the account's encryption public key for end-to-end encrypted messages (scope \"send\"; the private key never reaches the hub)",
    scope: "send",
    request: jsonBody(s.EncryptionKeyBody),
    responses: { 200: jsonResponse(s.EncryptionKeySet, "set"), 400: errors[400], 401: errors[401], 403: errors[403] },
  }),
  async (c) => {
    const { public_key } = c.req.valid("json");
    if (!isEncryptionPublicKey(public_key)) throw new ApiError("invalid_request", "public_key: not the x coordinate of a point on secp256k1");
    const { accountId, username } = c.get("principal");
    const result = await usernameActor(c.env, username).setEncryptionKey(accountId, public_key);
    if (isRefusal(result)) throwRefusal(result);
    return c.json({ username, encryption_public_key: public_key }, 200);
  },
);
