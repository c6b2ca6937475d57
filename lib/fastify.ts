/**
 * Fastify 5 integration: secondary certificate authentication (CLIENT -00, SERVER -02) on
 * `fastify({ http2: true, https: { key, cert } })`.
 *
 *   import Fastify from 'fastify'
 *   import { fastifySecondaryCerts } from 'h2-secondary-certs/fastify'
 *   const app = Fastify({ http2: true, https: { key, cert } })
 *   await app.register(fastifySecondaryCerts, { policy: createCertificatePolicy({ anchors, preset: 'frank' }) })
 *   app.get('/whoami', { config: { requireIdentities: ['device', 'user'] } }, (req) => req.secondaryIdentities.map((i) => i.label))
 *
 * The plugin attaches the extension to Fastify's own `Http2SecureServer` (its `'secureConnection'`
 * listener is replaced by the frame interposer) while the plugin loads, i.e. before `listen`.
 * It decorates every request with `secondaryIdentities` and `secondaryCerts`, runs the route
 * requirement given as `config.requireIdentities` in an `onRequest` hook, and offers
 * `fastify.requireIdentities(requirement)` as a hook for any route. Unmet requirements are
 * answered 403 `application/problem+json` (RFC 9457); policy rejections never close the
 * connection (SERVER -02 §6.2).
 *
 * Fastify is only imported as types: the library does not need it at run time. Listen on an
 * explicit address: for `host: 'localhost'` Fastify binds extra servers of its own which the
 * plugin cannot see; those serve without the extension. Or build the server with
 * {@link secondaryCertsServerFactory} (Fastify's `serverFactory`): the extension is then in the
 * server's first SETTINGS frame, and the plugin only adds the request API.
 */
import tls from 'node:tls'
import type http2 from 'node:http2'
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerBase, RouteGenericInterface } from 'fastify'
import { UsageError } from './errors.js'
import { attachSecondaryCerts, attachedSecondaryCerts, createSecureServer, identitiesOf, sessionCerts } from './binding/attach-server.js'
import type { SecondaryCertServer, ServerExtensionOptions, ServerSessionCerts } from './binding/attach-server.js'
import type { Identity } from './binding/identity.js'
import { ensureIdentities, problemDetails } from './binding/require-identities.js'
import type { IdentityNeed, IdentityRequirement, RequirementResult } from './binding/require-identities.js'
import type { CertificatePolicyFn } from './policy/certificate-policy.js'

/** A route requirement: labels (`['device', 'user']`) or a requirement whose policy may default. */
export type RouteIdentityRequirement =
  | readonly string[]
  | (Omit<IdentityRequirement, 'policy' | 'needs'> & {
      readonly needs: readonly (IdentityNeed | string)[]
      /** Default: the plugin's `policy`. */
      readonly policy?: CertificatePolicyFn
    })

/** Options of {@link fastifySecondaryCerts}: the server extension options plus route defaults. */
export interface FastifySecondaryCertsOptions extends ServerExtensionOptions {
  /**
   * Policy for route requirements that do not name their own. Also the server's `trust` decision
   * (what `secondaryIdentities` holds) when `trust` is not given.
   */
  readonly policy?: CertificatePolicyFn
  /** Anchors named in certificate_authorities by requirements that do not name their own. */
  readonly requestAnchors?: IdentityRequirement['requestAnchors']
  /** Default hold time of route requirements. */
  readonly timeoutMs?: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Trusted identities of this request's connection: validated and accepted by the plugin's
     * `trust` (or `policy`). Empty for HTTP/1.1, plain clients, and identities nobody trusts;
     * `identitiesOf(request.raw, { includeUntrusted: true })` lists every validated one.
     */
    readonly secondaryIdentities: readonly Identity[]
    /** The extension object of this request's connection; undefined without the extension. */
    readonly secondaryCerts: ServerSessionCerts | undefined
    /** The outcome of the route's identity requirement, once checked (null before). */
    identityCheck: RequirementResult | null
  }
  interface FastifyInstance {
    /** What `attachSecondaryCerts` returned for Fastify's server. */
    readonly secondaryCertServer: SecondaryCertServer
    /**
     * A hook (use as `onRequest` or `preHandler`) that enforces `requirement`, holding the request
     * while the client is asked and replying 403 problem+json when it is not met.
     */
    requireIdentities(requirement: RouteIdentityRequirement): IdentityHook
  }
  interface FastifyContextConfig {
    /** Identities this route requires (checked in an `onRequest` hook of the plugin). */
    requireIdentities?: RouteIdentityRequirement
  }
}

/** The hook `fastify.requireIdentities` returns. */
export type IdentityHook = (
  request: FastifyRequest<RouteGenericInterface, RawServerBase>,
  reply: FastifyReply<RouteGenericInterface, RawServerBase>,
) => Promise<void>


function isHttp2SecureServer(server: unknown): server is http2.Http2SecureServer {
  return server instanceof tls.Server && server.constructor.name === 'Http2SecureServer'
}

function resolveRequirement(r: RouteIdentityRequirement, opts: FastifySecondaryCertsOptions): IdentityRequirement {
  const given = isLabelList(r) ? { needs: r } : r
  const policy = given.policy ?? opts.policy
  // Without its own policy a requirement uses the server's trust decision (`trust` option).
  if (!policy && opts.trust === undefined) {
    throw new UsageError('an identity requirement needs a policy (in the requirement, or policy/trust in the plugin options)')
  }
  const requestAnchors = given.requestAnchors ?? opts.requestAnchors
  const timeoutMs = given.timeoutMs ?? opts.timeoutMs
  return {
    needs: given.needs.map((n) => (typeof n === 'string' ? { label: n } : n)),
    ...(policy ? { policy } : {}),
    ...(requestAnchors ? { requestAnchors } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  }
}

function isLabelList(r: RouteIdentityRequirement): r is readonly string[] {
  return Array.isArray(r)
}

function makeHook(requirement: IdentityRequirement): IdentityHook {
  return async (request, reply) => {
    const raw = request.raw as http2.Http2ServerRequest
    let result: RequirementResult
    try {
      result = await ensureIdentities(raw, requirement)
    } catch (e) {
      // A misconfigured requirement (e.g. unparseable anchors) is the server's fault.
      const code = (e as { code?: unknown } | undefined)?.code
      await reply
        .code(500)
        .type('application/problem+json')
        .send({ type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'route protection failed', ...(typeof code === 'string' ? { code } : {}) })
      return
    }
    request.identityCheck = result
    if (result.ok) return
    await reply.code(403).type('application/problem+json').send(problemDetails(result))
  }
}

/**
 * The Fastify plugin. Register it on an instance created with `http2: true` and `https` options;
 * it runs in the registering scope (no encapsulation), so decorations and the route option apply
 * to every route of that scope and its children.
 *
 * @throws UsageError (`ERR_SC_USAGE`) through Fastify's `register`/`ready` when the server is not
 *   an HTTP/2 TLS server or is already listening, and from `requireIdentities` (or route
 *   registration) for a requirement without a policy.
 */
export function fastifySecondaryCerts(
  fastify: FastifyInstance<RawServerBase>,
  opts: FastifySecondaryCertsOptions,
  done: (err?: Error) => void,
): void {
  const server: unknown = fastify.server
  if (!isHttp2SecureServer(server)) {
    done(new UsageError('fastifySecondaryCerts needs fastify({ http2: true, https: { key, cert } })'))
    return
  }
  if (server.listening) {
    done(new UsageError('register fastifySecondaryCerts before listen'))
    return
  }
  // createSecureServer of this package records what it attached (secondaryCertsServerFactory).
  let attached = attachedSecondaryCerts(server)
  if (!attached) {
    const { policy, requestAnchors: _a, timeoutMs: _t, ...ext } = opts
    attached = attachSecondaryCerts(server, ext.trust === undefined && policy ? { ...ext, trust: policy } : ext)
  }
  fastify.decorate('secondaryCertServer', attached)
  fastify.decorateRequest('secondaryIdentities', {
    getter(this: FastifyRequest<RouteGenericInterface, RawServerBase>): readonly Identity[] {
      return identitiesOf(this.raw as http2.Http2ServerRequest)
    },
  })
  fastify.decorateRequest('secondaryCerts', {
    getter(this: FastifyRequest<RouteGenericInterface, RawServerBase>): ServerSessionCerts | undefined {
      return sessionCerts(this.raw as http2.Http2ServerRequest)
    },
  })
  fastify.decorateRequest('identityCheck', null)
  fastify.decorate('requireIdentities', (requirement: RouteIdentityRequirement): IdentityHook => makeHook(resolveRequirement(requirement, opts)))

  // Route option: resolved once per route, when the route is added.
  const hooks = new WeakMap<object, IdentityHook>()
  fastify.addHook('onRoute', (route) => {
    const r = (route.config as { requireIdentities?: RouteIdentityRequirement } | undefined)?.requireIdentities
    if (r === undefined) return
    // Throws UsageError at route registration for a requirement without a policy.
    hooks.set(r, makeHook(resolveRequirement(r, opts)))
  })
  fastify.addHook('onRequest', async (request, reply) => {
    const r = (request.routeOptions.config as { requireIdentities?: RouteIdentityRequirement }).requireIdentities
    if (r === undefined) return
    let hook = hooks.get(r)
    if (!hook) {
      hook = makeHook(resolveRequirement(r, opts))
      hooks.set(r, hook)
    }
    await hook(request, reply)
  })
  done()
}

// Run in the registering scope, as fastify-plugin would arrange.
Object.assign(fastifySecondaryCerts, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'h2-secondary-certs',
  [Symbol.for('plugin-meta')]: { name: 'h2-secondary-certs', fastify: '5.x' },
})

/**
 * A Fastify `serverFactory` that builds the HTTP/2 TLS server with the extension already attached
 * (`createSecureServer` of this package: the settings go out in the first SETTINGS frame). Use with
 * `fastify({ http2: true, https: {...}, serverFactory })`; `options` are the server's TLS options
 * (Fastify does not pass its `https` options to a factory). The plugin then skips the attach.
 *
 * @param options - `http2.SecureServerOptions` plus `secondaryCerts` extension options.
 * @returns `(handler) => Http2SecureServer`.
 */
export function secondaryCertsServerFactory(
  options: http2.SecureServerOptions & { readonly secondaryCerts?: ServerExtensionOptions },
): (handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) => http2.Http2SecureServer {
  return (handler) => {
    // createSecureServer records what it attached; the plugin finds it and skips the attach.
    return createSecureServer(options, handler)
  }
}
