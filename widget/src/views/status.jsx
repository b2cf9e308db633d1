// What the panel shows in this build: the state of the connection to the help desk.
// The live-chat view replaces it once connected (next issue).
import { Icon } from "../icons.jsx";

export function StatusView({ t, connection, onRetry }) {
  const { status, error, retrying } = connection;
  if (status === "connected") {
    return (
      <div class="status status-ok" role="status">
        <Icon name="check" />
        <p class="status-title">{t.connected}</p>
        <p class="status-text">{t.connectedHint}</p>
      </div>
    );
  }
  if (status === "error") {
    return (
      <div class="status status-error" role="alert">
        <Icon name="offline" />
        <p class="status-title">{t.unreachable}</p>
        {error && <p class="status-text status-detail">{error}</p>}
        {retrying ? (
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
    <div class="status" role="status">
      <span class="spinner" aria-hidden="true" />
      <p class="status-title">{t.connecting}</p>
    </div>
  );
}
