// Sign in or create an account (online, once). Emits `sign-in` {email, password} or `sign-up`
// {email, password, name}; the session controller does the rest.
import { LitElement, css, html, nothing } from 'lit'
import { base } from './styles.ts'

export class SignIn extends LitElement {
  static override properties = {
    busy: { type: Boolean },
    error: { type: String },
    online: { type: Boolean },
    mode: { state: true },
    /** Shown above the form, e.g. when a session ended. */
    heading: { type: String },
  }

  busy = false
  error = ''
  online = true
  heading = ''
  mode: 'sign-in' | 'sign-up' = 'sign-up'

  static override styles = [base, css`
    .tabs { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-bottom: 16px; }
    .tabs button[aria-pressed='true'] { background: #0b5c53; color: #fff; }
    form { display: grid; gap: 14px; }
    .intro { margin-bottom: 16px; }
  `]

  override render() {
    const signUp = this.mode === 'sign-up'
    return html`
      <div class="intro">
        <h1>${this.heading || (signUp ? 'Create your account' : 'Welcome back')}</h1>
        <p class="muted">Order prints of your photos and pick them up at a store near you. Sign in once; after that the app also works offline.</p>
      </div>
      <div class="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed=${signUp ? 'true' : 'false'} @click=${() => { this.mode = 'sign-up' }}>New here</button>
        <button type="button" aria-pressed=${signUp ? 'false' : 'true'} @click=${() => { this.mode = 'sign-in' }}>I have an account</button>
      </div>
      <form class="card" @submit=${this.onSubmit} aria-describedby="account-error">
        ${signUp ? html`
          <div class="field">
            <label for="name">Your name</label>
            <input id="name" name="name" autocomplete="name" required maxlength="200">
          </div>` : nothing}
        <div class="field">
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="email" required inputmode="email">
        </div>
        <div class="field">
          <label for="password">Password${signUp ? html` <span class="muted small">(at least 8 characters)</span>` : nothing}</label>
          <input id="password" name="password" type="password" required minlength=${signUp ? 8 : 1}
            autocomplete=${signUp ? 'new-password' : 'current-password'}>
        </div>
        <p id="account-error" class=${this.error ? 'notice error' : 'visually-hidden'} role="alert">${this.error}</p>
        ${this.online ? nothing : html`<p class="notice warn">You are offline. Signing in needs a connection this one time.</p>`}
        <button class="primary wide" type="submit" ?disabled=${this.busy}>
          ${this.busy ? 'Please wait…' : signUp ? 'Create account' : 'Sign in'}
        </button>
      </form>
    `
  }

  private onSubmit(event: SubmitEvent): void {
    event.preventDefault()
    const form = new FormData(event.target as HTMLFormElement)
    const detail = {
      email: String(form.get('email') ?? '').trim(),
      password: String(form.get('password') ?? ''),
      ...(this.mode === 'sign-up' ? { name: String(form.get('name') ?? '').trim() } : {}),
    }
    this.dispatchEvent(new CustomEvent(this.mode, { detail, bubbles: true, composed: true }))
  }
}

customElements.define('ls-sign-in', SignIn)
