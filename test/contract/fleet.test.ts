// The fleet report contract: the rollout rule's arithmetic agrees with the client's own bucket,
// a report is strict and tightly bounded, and the answers' two readings (served exactly,
// accepted tolerantly) behave as the admin answers do.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rolloutBucket as clientBucket } from '../../client/src/update/rollout.ts'
import { FLEET_REPORT_MAX_BYTES, FleetAccepted, FleetReportSchema, FleetServed, parseLabelFilter, type FleetReport } from '../../contract/fleet.ts'
import { firstIssueInWords } from '../../contract/issues.ts'
import { bucketInRollout, digestPrefix32, rolloutBucket, rolloutHashInput } from '../../contract/rollout.ts'

const bucket = (hostId: string, version: string) => rolloutBucket(createHash('sha256').update(rolloutHashInput(hostId, version), 'utf8').digest())

describe('the rollout rule', () => {
  it('gives the known vectors', () => {
    expect(bucket('00000000-0000-4000-8000-000000000000', '2026.1.2')).toBe(14)
    expect(bucket('3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11', '2026.11.3')).toBe(79)
  })

  it('agrees with the client\'s bucket for any host and version', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.constantFrom('2026.11.3', '1.0', 'v2.0.0-rc.1', '2026.01.05+build'), (id, version) => {
        expect(bucket(id, version)).toBe(clientBucket(id, version))
      }),
    )
  })

  it('reads the first 4 bytes as an unsigned big-endian number', () => {
    expect(digestPrefix32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0]))).toBe(0xffffffff)
    expect(digestPrefix32(new Uint8Array([0x80, 0, 0, 1]))).toBe(0x80000001)
    expect(() => digestPrefix32(new Uint8Array(3))).toThrow(RangeError)
    expect([0, 99, 100].map((p) => bucketInRollout(99, p))).toEqual([false, false, true])
  })
})

describe('FleetReportSchema', () => {
  const valid: FleetReport = {
    schema: 1,
    product: 'cco',
    host_id: '3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11',
    name: 'web-01',
    labels: { role: 'web', site: 'Zürich 2' },
    channel: 'stable',
    platform: 'linux-x86_64',
    version: '2026.11.3',
    check_interval_s: 3600,
    events: [{ id: '7d9f0a55-2c4b-4e7e-9a1b-0c3d5e6f7a8b', at: '2026-11-20T10:00:00.123+01:00', kind: 'install', outcome: 'failed', from: '2026.11.2', to: '2026.11.3', error_class: 'download.checksum', exit_code: 4294967295 }],
  }
  const refusal = (body: unknown) => {
    const r = FleetReportSchema.safeParse(body, { reportInput: true })
    return r.success ? null : firstIssueInWords(r.error, 'body')
  }

  it('accepts a full report and one with only the required fields', () => {
    expect(refusal(valid)).toBeNull()
    const { name: _n, labels: _l, ...bare } = valid
    expect(refusal({ ...bare, platform: null, events: [{ id: valid.events[0]!.id, at: '2026-11-20T10:00:00Z', kind: 'check', outcome: 'up-to-date' }] })).toBeNull()
    expect(refusal({ ...bare, events: [{ id: valid.events[0]!.id, at: '2026-11-20T10:00:00Z', kind: 'check', outcome: 'available', to: '2026.11.4' }] })).toBeNull()
  })

  it('fits 50 events of the usual size in the 16 KiB body cap', () => {
    const plain = { ...valid, events: Array.from({ length: 50 }, () => ({ ...valid.events[0]! })) }
    expect(refusal(plain)).toBeNull()
    expect(JSON.stringify(plain).length).toBeLessThan(FLEET_REPORT_MAX_BYTES)
  })

  it.each([
    ['an unknown field', { ...valid, user: 'alice' }, 'body: unknown field user'],
    ['a NUL in a label value', { ...valid, labels: { role: 'web\u0000' } }, 'labels.role: a label value must be printable (no control or format characters)'],
    ['an empty label value', { ...valid, labels: { role: '' } }, 'labels.role: a label value is 1–64 characters'],
    ['a name with a space', { ...valid, name: 'web 01' }, 'name: must be 1–64 of A-Z, a-z, 0-9, . _ -'],
    ['an upper-case product', { ...valid, product: 'CCO' }, 'product: must be a product name'],
    ['a check interval over a year', { ...valid, check_interval_s: 365 * 86_400 + 1 }, 'check_interval_s: must be at most 31536000'],
    ['an exit code over 32 bits', { ...valid, events: [{ ...valid.events[0], exit_code: 4294967296 }] }, 'events.0.exit_code: must be a 32-bit exit code'],
    ['a target that is no version', { ...valid, events: [{ ...valid.events[0], to: 'latest' }] }, 'events.0.to: not a version'],
    ['a health event that failed', { ...valid, events: [{ ...valid.events[0], kind: 'health', outcome: 'failed' }] }, 'events.0.outcome: the outcome of health events is one of healthy, unhealthy'],
    ['an available release without its version', { ...valid, events: [{ id: valid.events[0]!.id, at: '2026-11-20T10:00:00Z', kind: 'check', outcome: 'available' }] }, 'events.0.to: required for an available release'],
    ['an install that is available', { ...valid, events: [{ ...valid.events[0], outcome: 'available' }] }, 'events.0.outcome: the outcome of install events is one of installed, failed'],
  ])('refuses %s', (_what, body, message) => {
    expect(refusal(body)).toBe(message)
  })

  it('reads a label filter with the report\'s rules', () => {
    expect(parseLabelFilter('role=db')).toEqual({ key: 'role', value: 'db' })
    expect(parseLabelFilter('env=a=b')).toEqual({ key: 'env', value: 'a=b' })
    for (const bad of ['role', '=db', 'Role=db', 'role=', 'role=a\nb']) expect(parseLabelFilter(bad), bad).toBeNull()
  })
})

describe('the answers\' two readings', () => {
  const page = { hosts: [], next_cursor: null }

  it('serves exactly and accepts what a newer broker adds', () => {
    expect(FleetServed.FleetHostPage.safeParse({ ...page, total: 3 }).success).toBe(false)
    expect(FleetAccepted.FleetHostPage.parse({ ...page, total: 3 })).toEqual({ ...page, total: 3 })
    expect(FleetServed.ReportAccepted.safeParse({ accepted: 1, duplicates: -1 }).success).toBe(false)
    const event = { host_id: 'h', id: 'e', at: 'x', received_at: 'y', kind: 'reboot', outcome: 'ok', from: null, to: null, error_class: null, exit_code: null }
    expect(FleetServed.FleetEventView.safeParse(event).success).toBe(false)
    expect(FleetAccepted.FleetEventView.parse(event).kind).toBe('reboot')
  })
})
