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

// On the clinic's shared tablet (kiosk mode), a check-in left untouched, and the thank-you
// page after a short while, go back to the neutral screen, so the next person in the waiting
// room sees nothing of them. The server marks the element: data-kiosk-return (where to go) and
// data-kiosk-idle (quiet seconds before going).
const kiosk = document.querySelector<HTMLElement>("[data-kiosk-return]");
if (kiosk !== null) {
  const home = kiosk.dataset.kioskReturn ?? "/";
  const idle = 1000 * Number(kiosk.dataset.kioskIdle ?? "120");
  let timer = window.setTimeout(() => location.replace(home), idle);
  const restart = (): void => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => location.replace(home), idle);
  };
  for (const name of ["change", "input", "pointerdown", "keydown", "scroll"]) {
    document.addEventListener(name, restart, { passive: true });
  }
}
