"""The mappings shipped with importer, installed as the package ``importer.mappings``.

Each ``NAME.yaml`` here can be named on the command line (``--mapping NAME``); its first comment
line, ``# mappings/NAME.yaml: WHAT IT READS → POST /unified/ats/candidates``, is the description
``importer mappings`` prints. ``importer.mapping.shipped`` lists and reads them.
"""
