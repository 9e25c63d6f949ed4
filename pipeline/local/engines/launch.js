// Starts one emulation engine (kinesalite or dynalite) on 127.0.0.1 only and prints
// "listening <port>" once it accepts connections. Usage: node launch.js <engine> <port> [json options]
'use strict'

const engines = { kinesis: 'kinesalite', dynamodb: 'dynalite' }
const [engine, portText, optionsText] = process.argv.slice(2)
if (!engines[engine]) {
  console.error(`unknown engine ${engine}: expected one of ${Object.keys(engines).join(', ')}`)
  process.exit(2)
}
const options = optionsText ? JSON.parse(optionsText) : {}
const server = require(engines[engine])(options)
server.on('error', (err) => {
  console.error(`${engines[engine]} could not listen on 127.0.0.1:${portText}: ${err.message}`)
  process.exit(1)
})
server.listen(Number(portText), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`)
})
const stop = () => process.exit(0)  // state is in memory: nothing to flush
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// The gateway holds our stdin open: when it dies without stopping us, stdin closes and we follow.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
