import { readdirSync, readFileSync } from 'node:fs'
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { Job } from 'kubernetes-models/batch/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { ENVIRONMENT } from '../../../src/config.js'

// The Kubernetes manifests, checked offline against the API's OpenAPI schemas as kubernetes-models
// ships them (types, required fields, enums; an unknown field is not caught there).
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
}

const DIRECTORY = new URL('../../../deploy/k8s/', import.meta.url)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>
const manifests: Array<[string, Manifest]> = readdirSync(DIRECTORY)
  .filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')
  .flatMap((name) => parseAllDocuments(readFileSync(new URL(name, DIRECTORY), 'utf8')).map((document): [string, Manifest] => [name, document.toJS() as Manifest]))

function validate(manifest: Manifest) {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`]
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`)
  new Model(manifest as never).validate()
}

const byKind = (kind: string) => manifests.find(([, manifest]) => manifest.kind === kind)![1]

describe('deploy/k8s', () => {
  it.each(manifests)('%s is valid against its schema', (_file, manifest) => {
    expect(() => validate(manifest)).not.toThrow()
  })

  it('the check can fail: a wrong type or a missing required field is refused', () => {
    const deployment = structuredClone(byKind('Deployment'))
    deployment.spec.replicas = 'three'
    expect(() => validate(deployment)).toThrow(/replicas/)
    const job = structuredClone(byKind('Job'))
    delete job.spec.template.spec.containers[0].name
    expect(() => validate(job)).toThrow(/name/)
  })

  it('kustomization lists every manifest', () => {
    const kustomization = parseAllDocuments(readFileSync(new URL('kustomization.yaml', DIRECTORY), 'utf8'))[0]!.toJS() as { resources: string[] }
    expect([...kustomization.resources].sort()).toEqual([...new Set(manifests.map(([file]) => file))].sort())
  })

  it('the Deployment probes health, drains before stopping, and the budget and Service select its pods', () => {
    const deployment = byKind('Deployment')
    const container = deployment.spec.template.spec.containers[0]
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready')
    expect(container.livenessProbe.httpGet.path).toBe('/health/live')
    expect(container.lifecycle.preStop).toBeDefined()
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true)
    const labels = deployment.spec.template.metadata.labels
    for (const selector of [byKind('PodDisruptionBudget').spec.selector.matchLabels, byKind('Service').spec.selector]) {
      expect(labels).toMatchObject(selector)
    }
  })

  it('configuration names only variables tollgate reads, and the key-encryption key comes from the Secret', () => {
    const known = new Set(Object.keys(ENVIRONMENT))
    const deployment = byKind('Deployment')
    const names = [
      ...Object.keys(byKind('ConfigMap').data),
      ...Object.keys(byKind('Secret').stringData),
      ...deployment.spec.template.spec.containers[0].env.map((variable: { name: string }) => variable.name),
    ]
    expect(names.filter((name) => !known.has(name))).toEqual([])
    expect(Object.keys(byKind('Secret').stringData)).toContain('KEY_ENCRYPTION_KEY')
    expect(Object.keys(byKind('ConfigMap').data)).not.toContain('KEY_ENCRYPTION_KEY')
    for (const kind of ['Deployment', 'Job']) {
      expect(byKind(kind).spec.template.spec.containers[0].envFrom).toContainEqual({ secretRef: { name: 'tollgate' } })
    }
  })
})
