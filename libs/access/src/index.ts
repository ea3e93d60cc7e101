export { Public, PUBLIC_ROUTE } from './public-route.js';
