"""The seller's worklist and the record page's Up next panel."""
