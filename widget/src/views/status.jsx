// While there is nothing else to show: connecting, or why the help desk can't be reached.
import { Icon } from "../icons.jsx";

export function StatusView({ t, conn, s, onRetry }) {
  const problem = s.availability && s.availability.error;
  if (conn.status === "error" || problem) {
    return (
      <div class="view status status-error" role="alert">
        <Icon name="offline" />
        <p class="status-title">{t.unreachable}</p>
        {(problem || conn.error) && <p class="status-text status-detail">{problem || conn.error}</p>}
        {conn.retrying ? (
          <p class="status-text">{t.retrying}</p>
        ) : (
          <button type="button" class="btn" onClick={onRetry}>
            {t.retry}
          </button>
        )}
      </div>
    );
  }
  return (
    <div class="view status" role="status">
      <span class="spinner" aria-hidden="true" />
      <p class="status-title">{t.connecting}</p>
    </div>
  );
}
