export { createEscalationPolicy, DEFAULT_FORMULA, MAX_ESCALATED_BANTIME, type EscalationPolicy } from './policy.js';
export { historyTtls, DEFAULT_HISTORY_SECONDS } from './history-ttl.js';
export { isRecidiveJail, recidiveJails } from './recidive.js';
export { parseExpression, ExpressionSyntaxError, type Expr } from './expression-parser.js';
export { evaluate, ExpressionEvalError } from './expression-eval.js';
