import { loadConfig } from '../src/config'
import { DEV_CLIENT_ID, DEV_ISSUER, signDevToken } from '../src/lib/auth/dev-issuer'

const config = loadConfig()
if (config.isProduction || config.cognito) {
  console.error('The development issuer is off: Cognito is configured or NODE_ENV=production.')
  process.exit(1)
}
const email = process.argv[2] ?? 'dev@example.com'
console.error(`ID token for ${email} (issuer ${DEV_ISSUER}, client ${DEV_CLIENT_ID}), valid 12 hours:`)
console.log(await signDevToken(config.dataDir, email))
