// One choice among a few, as large touch targets in a row (sex, age band, how a patient was
// identified): a radio group to assistive technology, each option findable by `${testid}-${value}`.
export function Choices<T extends string>({
  label,
  options,
  value,
  onChoose,
  testid,
}: {
  label: string;
  options: { value: T; label: string }[];
  value: T | null;
  onChoose: (value: T) => void;
  testid: string;
}) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label}>
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={value === option.value}
          className={value === option.value ? "chosen" : ""}
          data-testid={`${testid}-${option.value}`}
          onClick={() => onChoose(option.value)}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}
