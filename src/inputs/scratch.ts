/** The scratch database verify restores into: the configured one, or `<database>_verify`. */
export function scratchDatabase(section: { database: string; scratch_database?: string | undefined }): string {
  return section.scratch_database ?? `${section.database}_verify`;
}
