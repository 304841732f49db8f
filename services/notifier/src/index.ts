export { startNotifier } from './notifier.js';
