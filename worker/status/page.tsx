// The status page's HTML (hono/jsx, rendered on the server; no script, no external asset): the
// channels for everyone, and for a signed-in admin each channel's rollout progress, the fleet by
// version and the newest audit entries. Every string shown comes from storage or the network and
// is written as JSX text or attribute values, which hono/jsx escapes; nothing here is raw HTML.
import type { Child, FC, PropsWithChildren } from 'hono/jsx'
import type { AuditEntry, ChannelSummary } from '../../contract/api.ts'
import type { FleetView, RolloutProgress } from '../../contract/fleet.ts'
import { CHANNELS } from '../../contract/manifest.ts'
import { ROLLOUT_PART_LABELS, rolloutSegments, share, versionBars } from './charts.ts'
import type { Section } from './read.ts'

export interface SignedIn {
  actor: string
  /** Session expiry, unix seconds. */
  exp: number
  rollouts: Section<RolloutProgress[]>
  fleet: Section<FleetView>
  /** False when FLEET_TOKEN_HASHES is not set: no host can report. */
  reportsOn: boolean
  audit: Section<AuditEntry[]>
}

export interface StatusPageProps {
  product: string
  /** When the page was rendered (ms). */
  now: number
  channels: Section<ChannelSummary[]>
  /** Null: not signed in (the sign-in form is shown instead). */
  signedIn: SignedIn | null
  /** False when STATUS_SESSION_KEY is not set: no form, a note saying why. */
  signInEnabled: boolean
  /** Shown above the form, e.g. why a session cookie was not accepted. */
  notice?: string
}

/** The page for everyone, and the rest of it for a signed-in admin. */
export const StatusPage: FC<StatusPageProps> = (p) => (
  <Layout title={`${p.product} broker status`}>
    <header>
      <h1>{p.product} release broker</h1>
      <p class="muted">
        Status at <Time iso={new Date(p.now).toISOString()} /> · <a href="/status">refresh</a>
      </p>
    </header>
    <main>
      {p.signedIn ? <SessionBar actor={p.signedIn.actor} exp={p.signedIn.exp} /> : null}
      <Channels channels={p.channels} />
      {p.signedIn ? (
        <>
          <Rollouts rollouts={p.signedIn.rollouts} />
          <Fleet fleet={p.signedIn.fleet} reportsOn={p.signedIn.reportsOn} />
          <Audit audit={p.signedIn.audit} />
        </>
      ) : (
        <SignIn enabled={p.signInEnabled} notice={p.notice} />
      )}
    </main>
  </Layout>
)

export interface MessagePageProps {
  product: string
  title: string
  message: string
  /** Offer the sign-in form again (a refused token). */
  signIn: boolean
}

/** A refusal or an error: what went wrong, and no data. */
export const MessagePage: FC<MessagePageProps> = (p) => (
  <Layout title={`${p.title} · ${p.product} broker status`}>
    <header>
      <h1>{p.product} release broker</h1>
    </header>
    <main>
      <section id="message" class="card error" role="alert">
        <h2>{p.title}</h2>
        <p class="message">{p.message}</p>
      </section>
      {p.signIn ? <SignIn enabled={true} /> : null}
      <p>
        <a href="/status">Back to the status page</a>
      </p>
    </main>
  </Layout>
)

// CSS without `<`, `>`, `&` or quotes: it is a text child, which hono/jsx escapes, so it must
// mean the same escaped (the tests check the served <style> equals this text).
export const STATUS_CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#fff;--card:#f4f5f7;--line:#d5dae0;--ok:#1a7f37;--bad:#cf222e;--warn:#bf8700;--wait:#4f6bed;--idle:#c4cad3;--stable:#1f6feb;--beta:#8250df}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4b1;--bg:#0e1116;--card:#171b22;--line:#2b313a;--idle:#3b424d}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:60rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem}
h1{font-size:1.35rem;margin:0 0 .2rem}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
h3{font-size:1rem;margin:0 0 .5rem}
a{color:var(--wait)}
.muted,.sub{color:var(--muted)}
.sub{font-weight:normal;font-size:.9rem}
.cards{display:grid;gap:.8rem;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr))}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.8rem 1rem}
.error{border-color:var(--bad)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem .8rem;margin:0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
.halted{color:var(--bad);font-weight:600}
.running{color:var(--ok)}
.reason{display:block;overflow-wrap:anywhere}
.bar{display:flex;height:.9rem;border-radius:.25rem;background:var(--idle);overflow:hidden;margin:.3rem 0}
.bar span{display:block;height:100%;min-width:2px}
.bar .solo{background:var(--wait)}
.seg-stable{background:var(--stable)}
.seg-beta{background:var(--beta)}
.seg-other{background:var(--muted)}
.p-installed{background:var(--ok)}
.p-failed{background:var(--bad)}
.p-rolled_back{background:var(--warn)}
.p-not_seen{background:var(--wait)}
.p-outside{background:var(--idle)}
.bars{list-style:none;margin:0;padding:0}
.bars li{margin:0 0 .7rem}
.bar-head{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.bar-head .version{font-weight:600;overflow-wrap:anywhere}
.legend{list-style:none;margin:.3rem 0 0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.9rem}
.legend i{display:inline-block;width:.75rem;height:.75rem;border-radius:.15rem;margin-right:.3rem;vertical-align:-1px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td{overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600}
form{margin:0}
label{display:block;margin-bottom:.3rem}
input{font:inherit;width:100%;max-width:28rem;padding:.5rem;border:1px solid var(--line);border-radius:.35rem;background:var(--bg);color:var(--fg)}
button{font:inherit;margin-top:.6rem;padding:.45rem 1rem;border-radius:.35rem;border:1px solid var(--line);background:var(--wait);color:#fff;cursor:pointer}
@media (max-width:40rem){
thead{display:none}
table,tbody,tr,td{display:block}
tr{padding:.45rem 0;border-bottom:1px solid var(--line)}
td{display:inline;border:0;padding:0 .6rem 0 0;overflow-wrap:normal}
td:first-child{display:block;color:var(--muted);font-size:.85rem}
td.action{font-weight:600}
}
.session{display:flex;justify-content:space-between;align-items:center;gap:1rem;flex-wrap:wrap;margin-top:.8rem}
.session button{margin:0;background:var(--card);color:var(--fg)}
footer{height:2rem}
`

const Layout: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {/* An empty icon (img-src data:), so the browser does not ask the broker for /favicon.ico. */}
      <link rel="icon" href="data:," />
      <title>{title}</title>
      <style>{STATUS_CSS}</style>
    </head>
    <body>
      {children}
      <footer />
    </body>
  </html>
)

const SessionBar: FC<{ actor: string; exp: number }> = ({ actor, exp }) => (
  <section id="session" class="card session">
    <span>
      Signed in as <b class="actor">{actor}</b> until <Time iso={new Date(exp * 1000).toISOString()} />
    </span>
    <form method="post" action="/status/signout">
      <button type="submit">Sign out</button>
    </form>
  </section>
)

const Channels: FC<{ channels: Section<ChannelSummary[]> }> = ({ channels }) => (
  <section id="channels">
    <h2>Channels</h2>
    {channels.ok ? (
      <div class="cards">
        {channels.value.map((ch) => (
          <article class="card channel" data-channel={ch.channel}>
            <h3>{ch.channel}</h3>
            <dl>
              <dt>Version</dt>
              <dd class="version">{ch.version ?? 'no release'}</dd>
              <dt>Seq</dt>
              <dd class="seq">{ch.seq}</dd>
              <dt>Rollout</dt>
              <dd class="rollout">
                <span class="percent">{ch.rollout.percent} %</span>
                <Bar parts={[{ cls: 'solo', share: ch.rollout.percent }]} label={`rollout ${ch.rollout.percent} %`} />
              </dd>
              <dt>State</dt>
              <dd class="state">
                {ch.rollout.halted ? (
                  <>
                    <span class="halted">Halted</span>
                    {ch.rollout.halted_by ? <span class="halted-by muted"> by {ch.rollout.halted_by}</span> : null}
                    <span class="reason">{ch.rollout.reason ?? ''}</span>
                  </>
                ) : (
                  <span class="running">{ch.version === null ? 'idle' : 'rolling out'}</span>
                )}
              </dd>
              {ch.ramp ? (
                <>
                  <dt>Ramp</dt>
                  <dd class="ramp">
                    {ch.ramp.steps.join(' → ')} %, next {ch.ramp.next_percent} %{' '}
                    {ch.ramp.waiting ? <span class="waiting">waiting: {ch.ramp.waiting}</span> : <>at <Time iso={ch.ramp.next_at} /></>}
                  </dd>
                </>
              ) : null}
              <dt>Guard</dt>
              <dd class="guard muted">
                halts at ≥ {ch.guard.min_failures} failed hosts and ≥ {ch.guard.min_failure_percent} %
              </dd>
              <dt>Signed</dt>
              <dd class="muted">{ch.issued_at ? <Time iso={ch.issued_at} /> : 'not yet'}</dd>
            </dl>
          </article>
        ))}
      </div>
    ) : (
      <Unavailable message={channels.message} />
    )}
  </section>
)

const Rollouts: FC<{ rollouts: Section<RolloutProgress[]> }> = ({ rollouts }) => (
  <section id="rollouts">
    <h2>Rollout progress</h2>
    {rollouts.ok ? (
      <div class="cards">
        {rollouts.value.map((r) => {
          const segments = rolloutSegments(r)
          return (
            <article class="card rollout" data-channel={r.channel}>
              <h3>
                {r.channel}{' '}
                <span class="sub">
                  {r.version === null ? 'no release' : `${r.version} at ${r.percent} %`}
                  {r.halted ? ', halted' : ''}
                </span>
              </h3>
              <p class="muted">
                <span class="on-channel">{r.on_channel}</span> hosts on the channel, <span class="in-bucket">{r.in_bucket}</span> in the rollout
              </p>
              <Bar parts={segments.map((s) => ({ cls: `p-${s.part}`, share: s.share }))} label={segments.map((s) => `${ROLLOUT_PART_LABELS[s.part]} ${s.hosts}`).join(', ')} />
              <ul class="legend">
                {segments.map((s) => (
                  <li data-part={s.part}>
                    <i class={`p-${s.part}`} />
                    {ROLLOUT_PART_LABELS[s.part]} <b class="count">{s.hosts}</b>
                  </li>
                ))}
              </ul>
            </article>
          )
        })}
      </div>
    ) : (
      <Unavailable message={rollouts.message} />
    )}
  </section>
)

const Fleet: FC<{ fleet: Section<FleetView>; reportsOn: boolean }> = ({ fleet, reportsOn }) => {
  if (!fleet.ok) {
    return (
      <section id="fleet">
        <h2>Fleet by version</h2>
        <Unavailable message={fleet.message} />
      </section>
    )
  }
  const view = fleet.value
  const bars = versionBars(view)
  return (
    <section id="fleet">
      <h2>Fleet by version</h2>
      <p class="muted">
        <span class="hosts">{view.hosts}</span> hosts reporting, <span class="stale">{view.stale}</span> not seen within twice their check interval
      </p>
      {bars.length === 0 ? (
        <p class="empty">{reportsOn ? 'No host has reported yet.' : 'No host can report: this broker takes no fleet reports (the secret FLEET_TOKEN_HASHES is not set).'}</p>
      ) : (
        <ul class="bars">
          {bars.map((b) => (
            <li class="version-bar" data-version={b.version} data-hosts={b.hosts}>
              <div class="bar-head">
                <span class="version">{b.version}</span>
                <span>
                  <b class="count">{b.hosts}</b> {b.hosts === 1 ? 'host' : 'hosts'} · {b.share} %
                </span>
              </div>
              <Bar parts={b.channels.map((c) => ({ cls: channelClass(c.channel), share: c.share }))} label={`${b.version}: ${b.hosts} of ${view.hosts} hosts`} />
              <span class="muted channels">{b.channels.map((c) => `${c.channel} ${c.hosts}`).join(' · ')}</span>
            </li>
          ))}
        </ul>
      )}
      {view.by_platform.length > 0 ? (
        <>
          <h3>By platform</h3>
          <ul class="bars">
            {view.by_platform.map((p) => (
              <li class="platform-bar" data-platform={p.platform ?? 'unknown'} data-hosts={p.hosts}>
                <div class="bar-head">
                  <span class="version">{p.platform ?? 'unknown'}</span>
                  <span>
                    <b class="count">{p.hosts}</b> · {share(p.hosts, view.hosts)} %
                  </span>
                </div>
                <Bar parts={[{ cls: 'solo', share: share(p.hosts, view.hosts) }]} label={`${p.platform ?? 'unknown'}: ${p.hosts} hosts`} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  )
}

const Audit: FC<{ audit: Section<AuditEntry[]> }> = ({ audit }) => (
  <section id="audit">
    <h2>Recent changes</h2>
    {!audit.ok ? (
      <Unavailable message={audit.message} />
    ) : audit.value.length === 0 ? (
      <p>The audit log is empty.</p>
    ) : (
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
            </tr>
          </thead>
          <tbody>
            {audit.value.map((e) => (
              <tr data-id={e.id}>
                <td>
                  <Time iso={e.at} />
                </td>
                <td class="actor">{e.actor}</td>
                <td class="action">{e.action}</td>
                <td class="target">{e.target ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
)

const SignIn: FC<{ enabled: boolean; notice?: string | undefined }> = ({ enabled, notice }) => (
  <section id="sign-in" class="card">
    <h2>Sign in</h2>
    {notice ? <p class="notice">{notice}</p> : null}
    {enabled ? (
      <>
        <p class="muted">
          The fleet, the rollouts' progress and the audit log need an admin token (a static token or a GitHub Actions OIDC token), checked as the admin API checks it. It is not
          kept: this browser gets a session cookie for 12 hours.
        </p>
        <form method="post" action="/status/session">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required />
          <button type="submit">Sign in</button>
        </form>
      </>
    ) : (
      <p class="muted">Sign-in is off on this broker: the secret STATUS_SESSION_KEY is not set.</p>
    )}
  </section>
)

const Unavailable: FC<{ message: string }> = ({ message }) => <p class="unavailable">Unavailable: {message}</p>

/** A bar of parts side by side, each `share` percent wide; parts with no share are left out. */
const Bar: FC<{ parts: { cls: string; share: number }[]; label: string }> = ({ parts, label }) => (
  <div class="bar" role="img" aria-label={label}>
    {parts.filter((p) => p.share > 0).map((p): Child => <span class={p.cls} style={`width:${p.share}%`} />)}
  </div>
)

/** A time in UTC (the page has no script to show it in the reader's zone); shown as given when it does not parse. */
const Time: FC<{ iso: string }> = ({ iso }) => {
  const t = new Date(iso)
  const text = Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return <time datetime={iso}>{text}</time>
}

function channelClass(channel: string): string {
  return (CHANNELS as readonly string[]).includes(channel) ? `seg-${channel}` : 'seg-other'
}
