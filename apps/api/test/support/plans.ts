import type pg from 'pg';

/** A node of an `EXPLAIN (FORMAT JSON)` plan, as far as the plan tests read it. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  /** The planner's estimate of the rows the node returns. */
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

/**
 * The plans of the statements `read` sends through `pool`, instead of running them: each is
 * EXPLAINed with the same parameters, and answered with no rows.
 */
export async function plansOf(pool: pg.Pool, read: () => Promise<unknown>): Promise<PlanNode[]> {
  const query = pool.query.bind(pool);
  const plans: PlanNode[] = [];
  // A statement comes as text and values, or as a config ({ name, text, values }) when it is
  // prepared by name; the name is dropped, so the EXPLAIN is never prepared under the statement's name.
  (pool as { query: unknown }).query = async (statement: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
    const [text, params] = typeof statement === 'string' ? [statement, values] : [statement.text, statement.values];
    const { rows } = await query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
    plans.push(rows[0]!['QUERY PLAN'][0]!.Plan);
    return { rows: [], rowCount: 0 };
  };
  try {
    await read();
  } finally {
    (pool as { query: unknown }).query = query;
  }
  return plans;
}

/** The node and every node below it. */
export function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}
