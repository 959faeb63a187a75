export { startCluster, type Cluster, type ClusterOptions, type Replica } from './cluster';
export { haproxyVersion } from './haproxy';
