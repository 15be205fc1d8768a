// The respondent's check-in page (served by `rapport` at /c/{token}) works without script; this
// adds a live progress line ("3 of 11 questions answered") above the questions. Its text comes
// from the page, in the respondent's language (data-template with {answered} and {total}).

function questions(form: HTMLFormElement): HTMLFieldSetElement[] {
  return Array.from(form.querySelectorAll<HTMLFieldSetElement>("fieldset.item"));
}

function answered(fieldset: HTMLFieldSetElement): boolean {
  return fieldset.querySelector("input:checked") !== null;
}

function render(template: string, values: Record<string, number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

function enhance(form: HTMLFormElement, progress: HTMLElement): void {
  const template = progress.dataset.template ?? "{answered} / {total}";
  const bar = progress.querySelector("progress");
  const label = progress.querySelector<HTMLElement>(".progress-text");
  const update = (): void => {
    const all = questions(form);
    const done = all.filter(answered).length;
    if (bar !== null) {
      bar.max = all.length;
      bar.value = done;
    }
    if (label !== null) label.textContent = render(template, { answered: done, total: all.length });
  };
  progress.hidden = false;
  update();
  form.addEventListener("change", update);
}

const form = document.querySelector<HTMLFormElement>("form.checkin");
const progress = document.getElementById("progress");
if (form !== null && progress !== null) enhance(form, progress);
