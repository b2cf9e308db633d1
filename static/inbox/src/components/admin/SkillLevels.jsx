// Skills with levels (1-10), as a queue requires them or an agent has them: one row per skill, and
// a picker of the business's other skills to add one. A skill that is no longer defined still
// shows (marked), so it can be taken off.
import { useState } from "preact/hooks";
import { useT } from "../../i18n.js";

const LEVELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/**
 * @param {{legend: string, hint?: string, defined: string[], value: Record<string, number>,
 *   onChange: (next: Record<string, number>) => void, levelLabel: string, defaultLevel: number}} props
 *   defined: the business's skill names; levelLabel: the i18n key of a level's label ({name}).
 */
export function SkillLevels({ legend, hint, defined, value, onChange, levelLabel, defaultLevel }) {
  const t = useT();
  const left = defined.filter((name) => !(name in value));
  const [picked, setPicked] = useState("");
  const choice = left.includes(picked) ? picked : left[0] ?? "";
  function add() {
    if (choice) onChange({ ...value, [choice]: defaultLevel });
  }
  function remove(name) {
    const { [name]: _, ...rest } = value;
    onChange(rest);
  }
  return (
    <fieldset class="skill-levels">
      <legend>{legend}</legend>
      {hint && <p class="reports-note">{hint}</p>}
      {Object.keys(value).length === 0 && <p class="skill-levels-none">{t("admin.skills.none")}</p>}
      <ul class="skill-levels-list">
        {Object.entries(value).map(([name, level]) => (
          <li key={name}>
            <span class="skill-levels-name">
              {name}
              {!defined.includes(name) && <em> {t("admin.skills.undefined")}</em>}
            </span>
            <label>
              <span class="visually-hidden">{t(levelLabel, { name })}</span>
              <select value={level} onChange={(e) => onChange({ ...value, [name]: Number(e.currentTarget.value) })}>
                {LEVELS.map((n) => (
                  <option key={n} value={n}>
                    {t("admin.skills.level", { level: n })}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" class="button button-small" onClick={() => remove(name)}>
              {t("admin.skills.takeOff", { name })}
            </button>
          </li>
        ))}
      </ul>
      {defined.length === 0 ? (
        <p class="reports-note">{t("admin.skills.defineFirst")}</p>
      ) : (
        left.length > 0 && (
          <div class="skill-levels-add">
            <label>
              <span class="visually-hidden">{t("admin.skills.pick", { what: legend })}</span>
              <select value={choice} onChange={(e) => setPicked(e.currentTarget.value)}>
                {left.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" class="button button-small" onClick={add}>
              {t("admin.skills.addTo", { what: legend })}
            </button>
          </div>
        )
      )}
    </fieldset>
  );
}

/** "billing 7, french 5" (an agent's) or "billing ≥ 7" (a queue's minimum), or a dash. */
export function skillList(skills, atLeast = false) {
  const entries = Object.entries(skills ?? {});
  return entries.length ? entries.map(([name, level]) => `${name} ${atLeast ? "≥ " : ""}${level}`).join(", ") : "—";
}
