import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '@jwt-ms/testing';

/** A rendered object: typed at the top, and walked freely below (the schema checks vouch for its shape). */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
};

/**
 * Renders an overlay offline, as `kubectl apply -k` would send it.
 *
 * @param overlay a folder name under `k8s/overlays` (`kind`, `minikube`)
 * @returns every object of the rendered YAML stream, in order
 * @throws Error when kubectl is missing or kustomize refuses the overlay (with its message)
 */
export function renderOverlay(overlay: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((document) => document.toJS() as K8sObject);
}
