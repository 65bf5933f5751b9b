// What a front-end team writes against the types openapi-typescript
// generates from api/openapi.json (schema.d.ts, made by `npm run check`,
// not committed). `tsc --noEmit` compiling it proves the types are exact:
// the @ts-expect-error lines fail the build when a nullable field loses
// its null, a required field becomes optional, or an enum widens.
import type { components, paths } from "./schema";

type Transaction = components["schemas"]["Transaction"];
type Problem = components["schemas"]["Problem"];
type TransactionList =
  paths["/v1/transactions"]["get"]["responses"][200]["content"]["application/json"];
type HistoryQuery = NonNullable<paths["/v1/transactions"]["get"]["parameters"]["query"]>;

/** Every transaction the query selects, following next_cursor. */
export async function* transactions(
  base: string,
  token: string,
  query: HistoryQuery,
): AsyncGenerator<Transaction> {
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...query, cursor })) {
      if (value !== undefined) {
        params.set(name, Array.isArray(value) ? value.join(",") : String(value));
      }
    }
    const res = await fetch(`${base}/v1/transactions?${params.toString()}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!res.ok) {
      const p = (await res.json()) as Problem;
      throw new Error(`${p.status} ${p.title}: ${p.detail} (${p.type})`);
    }
    const page = (await res.json()) as TransactionList;
    yield* page.items;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}

/** A line per transaction: each field used with the type the API sends. */
export function describe(tx: Transaction): string {
  const height: number | null = tx.block_height; // null while pending
  const sats: number = tx.net_sats; // always present
  const direction: "incoming" | "outgoing" | "self" = tx.direction;
  const status: "confirmed" | "pending" | "replaced" | "dropped" = tx.status;
  const usd: string | null = tx.value_usd; // null without a price
  return `${tx.txid} ${direction} ${status} ${sats} sats (${usd ?? "no price"}) at ${height ?? "pending"}`;
}

// A query is typed too: status is a list of its values, limit a number.
export const recentIncoming: HistoryQuery = {
  direction: "incoming",
  status: ["confirmed", "pending"],
  limit: 100,
};

declare const tx: Transaction;

// @ts-expect-error block_height is null while pending: not a number.
export const heightIsNullable: number = tx.block_height;
// @ts-expect-error next_cursor is null on the last page.
export const cursorIsNullable: string = ({} as TransactionList).next_cursor;
// @ts-expect-error direction is one of three values, not any string.
export const directionIsAnEnum: Transaction["direction"] = "sideways";
const { txid: _txid, ...withoutTxid } = tx;
// @ts-expect-error txid is required: a transaction without one is not a Transaction.
export const txidIsRequired: Transaction = withoutTxid;
// @ts-expect-error status takes its four values only.
export const statusIsAnEnumList: HistoryQuery = { status: ["unconfirmed"] };
