# Turns a password list into a C++ string constant: lower-cased, one per line,
# comments and blank lines dropped, duplicates removed.
file(STRINGS "${INPUT}" lines)
set(words "")
foreach(line IN LISTS lines)
  if(line MATCHES "^#!comment" OR line STREQUAL "")
    continue()
  endif()
  string(TOLOWER "${line}" line)
  # Keep only plain printable ASCII without quotes or backslashes.
  if(NOT line MATCHES "^[a-z0-9!#$%&()*+,./:<=>?@^_`{|}~ -]+$")
    continue()
  endif()
  list(APPEND words "${line}")
endforeach()
list(REMOVE_DUPLICATES words)
list(LENGTH words count)
list(JOIN words "\n" text)
file(WRITE "${OUTPUT}" "// Generated from ${INPUT} (${count} entries). Do not edit.\n"
  "namespace latchkey::domain {\nextern const char* const kCommonPasswordsText;\n"
  "const char* const kCommonPasswordsText = R\"LKPW(${text})LKPW\";\n}\n")
