import * as v from "valibot";

/**
 * What the approval routes take, apart from the domain (no store): the API validates with
 * these at init and loads the Approval module on a route's first call.
 */

/** The body of `POST /v1/tasks/{id}/approvals/{approvalId}`. */
export const DecideInput = v.strictObject({
  decision: v.picklist(["approve", "deny"], 'must be "approve" or "deny"'),
  comment: v.optional(v.pipe(v.string(), v.maxLength(2000, "must be at most 2000 characters"))),
});

/** The query of `GET /v1/approvals`. */
export const ListInput = v.object({
  status: v.optional(v.picklist(["pending", "decided"], 'must be "pending" or "decided"')),
  limit: v.optional(
    v.pipe(
      v.union(
        [v.number(), v.pipe(v.string(), v.regex(/^\d+$/), v.toNumber())],
        "must be a whole number from 1 to 50",
      ),
      v.integer("must be a whole number from 1 to 50"),
      v.minValue(1, "must be a whole number from 1 to 50"),
      v.maxValue(50, "must be a whole number from 1 to 50"),
    ),
    50,
  ),
  cursor: v.optional(v.string()),
});
