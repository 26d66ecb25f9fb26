// A real nginx in front of a Tandem server, with TLS, as docs/deploy.md
// describes: a self-signed certificate for localhost made with openssl, a
// config whose every file (pid, logs, temporary folders) lives in one
// temporary folder so that nginx runs without root and leaves nothing
// behind, and nginx itself in the foreground (daemon off), stopped by its
// process id.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const NGINX = process.env.NGINX_PATH || '/usr/sbin/nginx';
const OPENSSL = process.env.OPENSSL_PATH || 'openssl';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// selfSignedCert writes cert.pem and key.pem for localhost (and 127.0.0.1)
// into dir, valid for a day.
function selfSignedCert(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    OPENSSL,
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  return { cert, key };
}

// config is the nginx configuration: TLS on 127.0.0.1:port, everything
// proxied to the Tandem server at upstream (host:port) with the WebSocket
// upgrade and the X-Forwarded-* headers of deploy/nginx.conf.
function config({ dir, port, upstream, cert, key }) {
  const p = (name) => path.join(dir, name);
  return `# Written by e2e/tests/nginx.js for one test.
daemon off;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;
events { worker_connections 256; }
http {
    access_log ${p('access.log')};
    client_body_temp_path ${p('client_body')};
    proxy_temp_path ${p('proxy')};
    fastcgi_temp_path ${p('fastcgi')};
    uwsgi_temp_path ${p('uwsgi')};
    scgi_temp_path ${p('scgi')};

    map $http_upgrade $tandem_connection {
        default upgrade;
        ''      close;
    }

    server {
        listen 127.0.0.1:${port} ssl;
        server_name localhost;
        ssl_certificate ${cert};
        ssl_certificate_key ${key};

        location / {
            proxy_pass http://${upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $tandem_connection;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-User "";
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_buffering off;
        }
    }
}
`;
}

// request makes one HTTPS request to 127.0.0.1:port, trusting only the
// test's certificate; headers may name any Host. It resolves to
// { status, headers, body }.
function request(port, ca, { method = 'GET', path: urlPath = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers, ca, servername: 'localhost', agent: false },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      },
    );
    req.on('error', reject);
    // A WebSocket upgrade that is accepted turns into a socket: note the
    // 101 and hang up.
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, headers: res.headers, body: '' });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${urlPath}: no answer in 10 s`)));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

// Nginx is one nginx process in front of a Tandem server.
class Nginx {
  constructor() {
    this.dir = null;
    this.port = 0;
    this.proc = null;
    this.ca = null;
    this.output = [];
  }

  // url is the address browsers use: the name the certificate is for.
  get url() {
    return `https://localhost:${this.port}`;
  }

  // start makes the certificate and the config in a fresh temporary
  // folder, starts nginx on port (a free port when 0) in front of upstream
  // (host:port) and waits until it answers through to Tandem's /healthz.
  async start({ upstream, port = 0 }) {
    if (!fs.existsSync(NGINX)) {
      throw new Error(`${NGINX} not found: install nginx (apt-get install -y nginx; ../test.sh does it) or set NGINX_PATH`);
    }
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-e2e-nginx-'));
    // As root, nginx's workers run as an unprivileged user ("nobody"), which
    // must reach the temporary folders nginx makes in here (it gives them
    // to that user itself); the key stays readable by its owner only.
    if (process.getuid?.() === 0) fs.chmodSync(this.dir, 0o755);
    const { cert, key } = selfSignedCert(this.dir);
    fs.chmodSync(key, 0o600);
    this.ca = fs.readFileSync(cert);
    this.port = port || (await freePort());
    const conf = path.join(this.dir, 'nginx.conf');
    fs.writeFileSync(conf, config({ dir: this.dir, port: this.port, upstream, cert, key }));

    // -e: the error log from the very start, before the config is read (the
    // compiled-in default is under /var/log, which needs root).
    const proc = spawn(NGINX, ['-c', conf, '-p', this.dir, '-e', path.join(this.dir, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => this.output.push(chunk));
    }

    const deadline = Date.now() + 15_000;
    let lastErr = null;
    while (Date.now() < deadline) {
      const done = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r(null), 100))]);
      if (done) {
        this.proc = null;
        throw new Error(`nginx exited while starting (code ${done.code}, signal ${done.signal}): ${this.log()}`);
      }
      try {
        const res = await this.request({ path: '/healthz', headers: { Host: `localhost:${this.port}` } });
        if (res.status === 200) return this;
        lastErr = new Error(`/healthz through nginx answered ${res.status}: ${res.body}`);
      } catch (err) {
        lastErr = err;
      }
    }
    await this.stop();
    throw new Error(`nginx did not answer on ${this.url}: ${lastErr?.message}; ${this.log()}`);
  }

  // request: see request above, through this nginx.
  request(options) {
    return request(this.port, this.ca, options);
  }

  // api calls Tandem's JSON API through nginx, as a browser of this origin
  // would, and throws on an error status.
  async api(method, urlPath, body) {
    const headers = { Host: `localhost:${this.port}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers.Origin = this.url;
    }
    const res = await this.request({ method, path: urlPath, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${urlPath} through nginx: ${res.status} ${res.body}`);
    return res.body ? JSON.parse(res.body) : null;
  }

  // log is what nginx printed and wrote to its error log, for failures.
  log() {
    let errorLog = '';
    try {
      errorLog = fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8');
    } catch {
      // not written yet
    }
    return `${this.output.join('')}${errorLog}`.slice(-4000);
  }

  // accessLog is nginx's access log so far: one line per request, with
  // its status ("GET /api/docs/.../ws HTTP/1.1" 101 ...).
  accessLog() {
    try {
      return fs.readFileSync(path.join(this.dir, 'access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  // stop ends nginx by its process id (SIGTERM: nginx's fast shutdown; the
  // master stops its workers) and removes the temporary folder.
  async stop() {
    const proc = this.proc;
    if (proc) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(timer);
      this.proc = null;
    }
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

module.exports = { Nginx, freePort };
